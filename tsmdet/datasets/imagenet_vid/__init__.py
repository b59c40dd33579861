"""ILSVRC2015 VID / DET folders -> CocoVID-style records (the json the datasets load).

Modules: :mod:`.listing` (ImageSets lists -> worker tasks), :mod:`.frames` (worker: XML ->
records, the bad-input policy), :mod:`.assemble` (records -> json dict), :mod:`.fingerprint`
(skip up-to-date outputs), :mod:`.convert` (entry points; the process pool is
:mod:`tsmdet.datasets.parallel`),
:mod:`.records` (the dataclasses between them). The XML itself is read by
:mod:`tsmdet.datasets.vid_xml`.

Pure Python (no mmdet/mmengine): the converter runs once per data set, on any machine.

Layout read (see docs/datasets.md)::

    ROOT/Annotations/VID/{train/<chunk>/<video>, val/<video>}/NNNNNN.xml
    ROOT/Data/VID/<same video folder>/NNNNNN.JPEG
    ROOT/ImageSets/VID/train_*.txt, val.txt        (optional: select the videos)
    ROOT/ImageSets/DET/train.txt, Annotations/DET/<path>.xml, Data/DET/<path>.JPEG

Records (all ids 1-based and deterministic: videos sorted by name, frames by number):

* ``videos``: ``{id, name}``; ``name`` is the video folder relative to ``Data/VID``
  (``val/ILSVRC2015_val_00000000``). In DET every kept image is its own one-frame video.
* ``images``: ``{id, file_name, video_id, frame_id, width, height}``; ``file_name`` is
  relative to ``Data/VID`` (``Data/DET`` for the DET subset), ``frame_id`` is the number
  in the file name (DET: 0), width/height come from the XML ``<size>``.
* ``annotations``: ``{id, image_id, video_id, category_id, instance_id, bbox, area,
  iscrowd, occluded, generated}``. ``bbox = [xmin, ymin, xmax - xmin, ymax - ymin]``:
  the XML corners are taken as-is with ``w = xmax - xmin`` (no ``+1``), the convention of
  OpenMMLab's ImageNet VID converter, so numbers compare with their published results.
  ``instance_id`` is unique over the whole file per (video, trackid), numbered in order of
  first appearance; in DET every box is its own instance.
* ``categories``: :func:`~tsmdet.datasets.vid_classes.coco_categories` (ids 1..30).
* ``summary``: :class:`ConversionSummary` (every counter below); ``info``: split and the
  folder ``file_name`` is relative to.

Bad-input policy (case -> behaviour; the same table is in docs/datasets.md). Nothing is
silent: every case is counted in the summary, and the counters are logged at the end.

* unreadable or malformed XML, XML name not a frame number, non-positive ``<size>``, video
  listed in ImageSets without annotation folder, listed DET image without XML ->
  ``strict=True`` (the default): raise :class:`AnnotationError` naming the path;
  ``strict=False``: skip with a warning, count (``bad_xml_skipped``, ``missing_videos``).
* XML present, JPEG missing -> frame skipped, warning, ``missing_images``.
* box partly outside the image -> clipped to it, ``boxes_clipped``.
* box with zero or negative area (after clipping) -> dropped, ``boxes_dropped_empty``.
* unknown WordNet id in VID -> box dropped, ``boxes_dropped_unknown_wnid`` and
  ``unknown_wnids`` (per wnid).
* DET box of one of the 170 non-VID classes (expected) -> dropped,
  ``boxes_dropped_other_class``; a DET image is kept only with at least one VID-class box
  left (else ``images_without_vid_class``).
* gap in the frame numbers of a video folder -> warning naming the folder and the missing
  numbers, ``videos_with_gaps`` / ``missing_frame_numbers``; frames keep their true ids.
* video with no usable frame left -> no video record, warning, ``videos_without_frames``.
* malformed ImageSets line -> always raises, naming the file and line.
"""
from __future__ import annotations

from ..vid_xml import AnnotationError
from .convert import (
    convert,
    convert_imagenet_det,
    convert_imagenet_vid,
    convert_to_file,
    source_fingerprint,
    write_json,
)
from .fingerprint import stored_fingerprint
from .records import FORMAT_VERSION, SPLITS, VID_SPLITS, ConversionSummary

__all__ = [
    "FORMAT_VERSION", "SPLITS", "VID_SPLITS", "AnnotationError", "ConversionSummary", "convert",
    "convert_imagenet_det", "convert_imagenet_vid", "convert_to_file", "source_fingerprint",
    "stored_fingerprint", "write_json",
]
