"""ILSVRC2015 VID / DET folders -> CocoVID-style records (the json the datasets load).

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

import hashlib
import json
import logging
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, ClassVar, Iterator, Sequence, TypeVar

from tqdm import tqdm

from .vid_classes import WNID_TO_CATEGORY_ID, coco_categories
from .vid_xml import AnnotationError, FrameAnnotation, VIDObject, read_frame_xml

logger = logging.getLogger(__name__)

VID_SPLITS = ("train", "val")
SPLITS = (*VID_SPLITS, "det")
# Bump when the output schema or a policy changes: old outputs then count as stale.
FORMAT_VERSION = 1
# DET images per worker task (one task per video in VID).
_DET_CHUNK = 256
_MAX_LISTED = 10

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class ConversionSummary:
    """Every count the converter makes; logged at the end and stored under ``"summary"``."""

    split: str = ""
    videos: int = 0
    images: int = 0
    annotations: int = 0
    instances: int = 0
    frames_seen: int = 0  # XML files (VID) or listed images (DET) looked at
    empty_images: int = 0  # kept frames with no box (normal in VID)
    bad_xml_skipped: int = 0
    missing_images: int = 0
    missing_videos: int = 0
    videos_without_frames: int = 0
    videos_with_gaps: int = 0
    missing_frame_numbers: int = 0
    boxes_clipped: int = 0
    boxes_dropped_empty: int = 0
    boxes_dropped_unknown_wnid: int = 0
    unknown_wnids: dict[str, int] = field(default_factory=dict)
    boxes_dropped_other_class: int = 0
    images_without_vid_class: int = 0

    # Counters that mean "the input was not clean" (as opposed to the expected DET filtering).
    PROBLEMS: ClassVar[tuple[str, ...]] = (
        "bad_xml_skipped", "missing_images", "missing_videos", "videos_without_frames",
        "videos_with_gaps", "missing_frame_numbers", "boxes_clipped", "boxes_dropped_empty",
        "boxes_dropped_unknown_wnid",
    )

    def merge(self, other: ConversionSummary) -> None:
        """Add another (per-worker) summary's counters into this one."""
        for f in fields(self):
            value = getattr(other, f.name)
            if f.name == "unknown_wnids":
                for wnid, n in value.items():
                    self.unknown_wnids[wnid] = self.unknown_wnids.get(wnid, 0) + n
            elif isinstance(value, int):
                setattr(self, f.name, getattr(self, f.name) + value)

    def problems(self) -> dict[str, int]:
        """The non-zero problem counters, for the end-of-run warning."""
        return {name: getattr(self, name) for name in self.PROBLEMS if getattr(self, name)}

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Task:
    """One unit of worker work: one VID video, or a chunk of DET image paths."""

    root: str
    split: str
    items: tuple[str, ...]
    strict: bool


@dataclass(frozen=True)
class _Box:
    category_id: int
    track_key: int  # VID trackid; DET box index (every DET box is its own instance)
    bbox: tuple[float, float, float, float]
    occluded: int
    generated: int


@dataclass
class _Frame:
    frame_id: int
    file_name: str
    width: int
    height: int
    boxes: list[_Box]


@dataclass
class _Video:
    name: str
    frames: list[_Frame]


@dataclass
class _Part:
    """What a worker sends back; warnings are logged by the parent so they are never lost."""

    videos: list[_Video] = field(default_factory=list)
    counts: ConversionSummary = field(default_factory=ConversionSummary)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- listing the inputs


def _require(path: Path, what: str, is_file: bool = False) -> None:
    ok = path.is_file() if is_file else path.is_dir()
    if not ok:
        raise FileNotFoundError(f"{what} not found: {path}")


def _list_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, first token) of the non-empty lines of an ImageSets list."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            tokens = line.split()
            if tokens:
                yield number, tokens[0]


def _video_from_token(token: str, split: str, path: Path, number: int) -> str:
    """Video folder from a list token; both ``<video>`` and ``<video>/<frame>`` forms occur.

    train lists hold ``<chunk>/<video>`` (optionally prefixed ``train/``), val.txt holds
    ``<video>/<frame>``; the video is the first 2 (train) or 1 (val) path components.
    """
    parts = [p for p in token.split("/") if p]
    if parts and parts[0] == split:
        parts = parts[1:]
    depth = 2 if split == "train" else 1
    if len(parts) < depth:
        raise AnnotationError(f"{path}:{number}: expected a video folder, got {token!r}")
    return "/".join(parts[:depth])


def _vid_list_files(root: Path, split: str) -> list[Path]:
    sets = root / "ImageSets" / "VID"
    if split == "train":
        return sorted(sets.glob("train_*.txt"))
    return [p for p in (sets / "val.txt",) if p.is_file()]


def _vid_videos(root: Path, split: str) -> tuple[list[str], list[Path]]:
    """Sorted video names (relative to Data/VID) and the ImageSets files that chose them."""
    _require(root, "ILSVRC2015 root")
    ann_split = root / "Annotations" / "VID" / split
    _require(ann_split, f"VID {split} annotation folder")
    list_files = _vid_list_files(root, split)
    if list_files:
        names = {_video_from_token(tok, split, f, n) for f in list_files for n, tok in _list_lines(f)}
    else:
        pattern = "*/*" if split == "train" else "*"
        names = {p.relative_to(ann_split).as_posix() for p in ann_split.glob(pattern) if p.is_dir()}
    return sorted(f"{split}/{name}" for name in names), list_files


def _det_images(root: Path) -> tuple[list[str], list[Path]]:
    """Sorted DET image paths (relative to Data/DET, no extension) from ImageSets/DET/train.txt."""
    _require(root, "ILSVRC2015 root")
    list_file = root / "ImageSets" / "DET" / "train.txt"
    _require(list_file, "DET image list", is_file=True)
    _require(root / "Annotations" / "DET", "DET annotation folder")
    return sorted({tok for _, tok in _list_lines(list_file)}), [list_file]


def _tasks(root: Path, split: str, strict: bool) -> tuple[list[_Task], list[Path]]:
    if split == "det":
        paths, list_files = _det_images(root)
        chunks = [tuple(paths[i:i + _DET_CHUNK]) for i in range(0, len(paths), _DET_CHUNK)]
    else:
        if split not in VID_SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        names, list_files = _vid_videos(root, split)
        chunks = [(name,) for name in names]
    return [_Task(str(root), split, chunk, strict) for chunk in chunks], list_files


# ---------------------------------------------------------------- per-frame conversion


def _clip(o: VIDObject, width: int, height: int) -> tuple[tuple[float, float, float, float] | None, bool]:
    """The box clipped to the image as (x, y, w, h) (None when nothing is left), and whether it moved."""
    x1, x2 = (min(max(v, 0.0), float(width)) for v in (o.xmin, o.xmax))
    y1, y2 = (min(max(v, 0.0), float(height)) for v in (o.ymin, o.ymax))
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        return None, False
    clipped = (x1, y1, x2, y2) != (o.xmin, o.ymin, o.xmax, o.ymax)
    return (x1, y1, x2 - x1, y2 - y1), clipped


def _boxes(ann: FrameAnnotation, counts: ConversionSummary, det: bool) -> list[_Box]:
    """The frame's VID-class boxes, clipped; every dropped box is counted."""
    boxes = []
    for i, o in enumerate(ann.objects):
        category_id = WNID_TO_CATEGORY_ID.get(o.wnid)
        if category_id is None:
            if det:
                counts.boxes_dropped_other_class += 1
            else:
                counts.boxes_dropped_unknown_wnid += 1
                counts.unknown_wnids[o.wnid] = counts.unknown_wnids.get(o.wnid, 0) + 1
            continue
        bbox, clipped = _clip(o, ann.width, ann.height)
        if bbox is None:
            counts.boxes_dropped_empty += 1
            continue
        counts.boxes_clipped += int(clipped)
        boxes.append(_Box(category_id, i if det else o.trackid, bbox, o.occluded, o.generated))
    return boxes


def _bad_annotation(err: AnnotationError, task: _Task, part: _Part, counter: str = "bad_xml_skipped") -> None:
    """The strict policy in one place: raise, or warn and count."""
    if task.strict:
        raise err
    setattr(part.counts, counter, getattr(part.counts, counter) + 1)
    part.warnings.append(f"skipped: {err}")


def _read(path: Path, task: _Task, part: _Part) -> FrameAnnotation | None:
    """read_frame_xml under the strict policy; None when the frame is skipped."""
    try:
        ann = read_frame_xml(path)
        if ann.width <= 0 or ann.height <= 0:
            raise AnnotationError(f"{path}: non-positive image size {ann.width}x{ann.height}")
        return ann
    except AnnotationError as err:
        _bad_annotation(err, task, part)
        return None


def _frame_number(path: Path, task: _Task, part: _Part) -> int | None:
    """The frame id is the number in the file name (NNNNNN.xml); None when skipped."""
    if path.stem.isdigit():
        return int(path.stem)
    _bad_annotation(AnnotationError(f"{path}: file name is not a frame number"), task, part)
    return None


def _listdir(path: Path) -> set[str]:
    """File names in a folder (empty when it does not exist): one readdir, not one stat per frame."""
    try:
        return set(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return set()


def _exists(path: Path, listings: dict[Path, set[str]]) -> bool:
    """Existence through a per-folder listing cache (DET images share a few folders per chunk)."""
    if path.parent not in listings:
        listings[path.parent] = _listdir(path.parent)
    return path.name in listings[path.parent]


def _format_numbers(numbers: Sequence[int]) -> str:
    shown = ", ".join(f"{n:06d}" for n in numbers[:_MAX_LISTED])
    return shown + (f", ... ({len(numbers)} in all)" if len(numbers) > _MAX_LISTED else "")


def _check_gaps(ann_dir: Path, numbers: list[int], part: _Part) -> None:
    """Frames are numbered from 000000 without holes; a hole means a partial copy."""
    if not numbers:
        return
    missing = sorted(set(range(max(numbers) + 1)) - set(numbers))
    if missing:
        part.counts.videos_with_gaps += 1
        part.counts.missing_frame_numbers += len(missing)
        part.warnings.append(f"{ann_dir}: gap in frame numbers, missing {_format_numbers(missing)}")


def _convert_video(task: _Task) -> _Part:
    """Worker: all frames of one VID video (frames = the XML files of its annotation folder)."""
    part = _Part()
    (name,) = task.items
    root = Path(task.root)
    ann_dir = root / "Annotations" / "VID" / name
    data_dir = root / "Data" / "VID" / name
    if not ann_dir.is_dir():
        err = AnnotationError(f"{ann_dir}: video listed in ImageSets has no annotation folder")
        _bad_annotation(err, task, part, "missing_videos")
        return part
    jpegs = _listdir(data_dir)
    numbered = []
    for xml in sorted(p for p in ann_dir.iterdir() if p.suffix == ".xml"):
        part.counts.frames_seen += 1
        number = _frame_number(xml, task, part)
        if number is not None:
            numbered.append((number, xml))
    numbered.sort()
    _check_gaps(ann_dir, [n for n, _ in numbered], part)
    if numbered and not jpegs:
        part.warnings.append(f"{data_dir}: image folder missing or empty, {len(numbered)} frames skipped")
    frames = []
    for number, xml in numbered:
        jpeg = f"{xml.stem}.JPEG"
        if jpeg not in jpegs:
            part.counts.missing_images += 1
            if jpegs:
                part.warnings.append(f"{data_dir / jpeg}: image missing, frame skipped")
            continue
        ann = _read(xml, task, part)
        if ann is None:
            continue
        boxes = _boxes(ann, part.counts, det=False)
        part.counts.empty_images += int(not boxes)
        frames.append(_Frame(number, f"{name}/{jpeg}", ann.width, ann.height, boxes))
    if not frames:
        part.counts.videos_without_frames += 1
        part.warnings.append(f"{ann_dir}: no usable frame, video left out")
    part.videos.append(_Video(name, frames))
    return part


def _convert_det_chunk(task: _Task) -> _Part:
    """Worker: a chunk of DET images; each kept image becomes a one-frame video."""
    part = _Part()
    root = Path(task.root)
    listings: dict[Path, set[str]] = {}
    for item in task.items:
        part.counts.frames_seen += 1
        image = root / "Data" / "DET" / f"{item}.JPEG"
        if not _exists(image, listings):
            part.counts.missing_images += 1
            part.warnings.append(f"{image}: image missing, skipped")
            continue
        ann = _read(root / "Annotations" / "DET" / f"{item}.xml", task, part)
        if ann is None:
            continue
        boxes = _boxes(ann, part.counts, det=True)
        if not boxes:
            part.counts.images_without_vid_class += 1
            continue
        part.videos.append(_Video(item, [_Frame(0, f"{item}.JPEG", ann.width, ann.height, boxes)]))
    return part


def _convert_task(task: _Task) -> _Part:
    return _convert_det_chunk(task) if task.split == "det" else _convert_video(task)


# ---------------------------------------------------------------- fingerprint


def _stat_line(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{path.name} missing\n"
    return f"{path.name} {st.st_size} {st.st_mtime_ns}\n"


def _fingerprint_task(task: _Task) -> str:
    """Digest of what a task's output depends on: XML (name, size, mtime) and image names.

    Cheap on purpose: stats and directory listings, no XML parsing, no image reading.
    """
    h = hashlib.sha256()
    root = Path(task.root)
    if task.split == "det":
        listings: dict[Path, set[str]] = {}
        for item in task.items:
            present = _exists(root / "Data" / "DET" / f"{item}.JPEG", listings)
            h.update(f"{item} {present} ".encode())
            h.update(_stat_line(root / "Annotations" / "DET" / f"{item}.xml").encode())
        return h.hexdigest()
    (name,) = task.items
    ann_dir = root / "Annotations" / "VID" / name
    h.update(f"{name}\n".encode())
    if ann_dir.is_dir():
        for entry in sorted(os.scandir(ann_dir), key=lambda e: e.name):
            if entry.name.endswith(".xml"):
                st = entry.stat()
                h.update(f"{entry.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    h.update("\n".join(sorted(_listdir(root / "Data" / "VID" / name))).encode())
    return h.hexdigest()


def _fingerprint(tasks: list[_Task], list_files: list[Path], split: str, strict: bool,
                 workers: int, progress: bool) -> str:
    h = hashlib.sha256(f"tsmdet-imagenet-vid v{FORMAT_VERSION} {split} strict={strict}\n".encode())
    for path in list_files:
        h.update(_stat_line(path).encode())
    for digest in _parallel_map(_fingerprint_task, tasks, workers, "fingerprint", progress):
        h.update(digest.encode())
    return h.hexdigest()


# ---------------------------------------------------------------- orchestration


def _parallel_map(fn: Callable[[_T], _R], tasks: Sequence[_T], workers: int, desc: str,
                  progress: bool) -> Iterator[_R]:
    """``map(fn, tasks)`` in task order, over a process pool when workers > 1, with a bar."""
    bar = tqdm(total=len(tasks), desc=desc, file=sys.stderr, disable=None if progress else True)
    with bar:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
                bar.update()
            return
        chunksize = max(1, len(tasks) // (workers * 16))
        pool = ProcessPoolExecutor(max_workers=workers)
        try:
            for result in pool.map(fn, tasks, chunksize=chunksize):
                yield result
                bar.update()
        finally:
            # On an error (strict mode) do not wait for the rest of the data set.
            pool.shutdown(wait=True, cancel_futures=True)


def _assemble(parts: Iterator[_Part], split: str) -> dict:
    """Number everything 1-based in task order and build the json dict (``summary`` included)."""
    summary = ConversionSummary(split=split)
    videos: list[dict] = []
    images: list[dict] = []
    annotations: list[dict] = []
    for part in parts:
        summary.merge(part.counts)
        for message in part.warnings:
            logger.warning(message)
        for video in part.videos:
            if video.frames:
                _add_video(video, videos, images, annotations, summary)
    summary.videos, summary.images, summary.annotations = len(videos), len(images), len(annotations)
    prefix = "Data/DET" if split == "det" else "Data/VID"
    return {
        "info": {"split": split, "file_name_prefix": prefix, "format_version": FORMAT_VERSION},
        "videos": videos,
        "images": images,
        "annotations": annotations,
        "categories": coco_categories(),
        "summary": summary.to_dict(),
    }


def _add_video(video: _Video, videos: list[dict], images: list[dict], annotations: list[dict],
               summary: ConversionSummary) -> None:
    video_id = len(videos) + 1
    videos.append({"id": video_id, "name": video.name})
    instance_ids: dict[int, int] = {}
    for frame in video.frames:
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": frame.file_name, "video_id": video_id,
                       "frame_id": frame.frame_id, "width": frame.width, "height": frame.height})
        for box in frame.boxes:
            if box.track_key not in instance_ids:
                summary.instances += 1
                instance_ids[box.track_key] = summary.instances
            x, y, w, h = box.bbox
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "video_id": video_id,
                "category_id": box.category_id, "instance_id": instance_ids[box.track_key],
                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0,
                "occluded": box.occluded, "generated": box.generated,
            })


def _log_summary(summary: ConversionSummary) -> None:
    logger.info("%s: %d videos, %d images, %d boxes, %d instances", summary.split, summary.videos,
                summary.images, summary.annotations, summary.instances)
    if summary.split == "det":
        logger.info("DET: %d boxes of non-VID classes dropped, %d images without a VID class left out",
                    summary.boxes_dropped_other_class, summary.images_without_vid_class)
    problems = summary.problems()
    if problems:
        logger.warning("input problems (see warnings above): %s", problems)
    if summary.unknown_wnids:
        logger.warning("unknown WordNet ids (boxes dropped): %s", summary.unknown_wnids)


def _run(tasks: list[_Task], split: str, workers: int, progress: bool) -> tuple[dict, ConversionSummary]:
    data = _assemble(_parallel_map(_convert_task, tasks, workers, split, progress), split)
    summary = ConversionSummary(**data["summary"])
    _log_summary(summary)
    return data, summary


def _resolve_workers(workers: int | None) -> int:
    return max(1, workers if workers is not None else (os.cpu_count() or 1))


def convert(root: str | Path, split: str, *, workers: int | None = None, strict: bool = True,
            progress: bool = True) -> dict:
    """Convert one split (``train``, ``val`` or ``det``) into a CocoVID-style dict.

    Raises FileNotFoundError naming the missing folder/list, and AnnotationError naming the
    file when ``strict`` and an annotation is bad (see the module docstring for the policy).
    """
    tasks, _ = _tasks(Path(root), split, strict)
    return _run(tasks, split, _resolve_workers(workers), progress)[0]


def convert_imagenet_vid(root: str | Path, split: str = "train", **kwargs) -> dict:
    """VID ``train`` or ``val``; keyword arguments as :func:`convert`."""
    if split not in VID_SPLITS:
        raise ValueError(f"VID split must be one of {VID_SPLITS}, got {split!r}")
    return convert(root, split, **kwargs)


def convert_imagenet_det(root: str | Path, **kwargs) -> dict:
    """The 30-class subset of DET train as one-frame videos; keyword arguments as :func:`convert`."""
    return convert(root, "det", **kwargs)


def source_fingerprint(root: str | Path, split: str, *, strict: bool = True, workers: int | None = None,
                       progress: bool = False) -> str:
    """Hash of everything the output of :func:`convert` depends on, without parsing anything.

    Covers the ImageSets files used, (name, size, mtime_ns) of every XML file of the chosen
    videos (DET: listed images), the names of the image files, the split, ``strict`` and
    :data:`FORMAT_VERSION`. Image *contents* are not covered (the converter never reads them).
    """
    tasks, list_files = _tasks(Path(root), split, strict)
    return _fingerprint(tasks, list_files, split, strict, _resolve_workers(workers), progress)


_FINGERPRINT_HEAD = re.compile(r'^\{"source_fingerprint":\s*"([0-9a-f]{64})"')


def stored_fingerprint(path: str | Path) -> str | None:
    """The fingerprint of an existing output, read from its first bytes (the file may be GBs)."""
    try:
        with open(path, encoding="utf-8") as f:
            match = _FINGERPRINT_HEAD.match(f.read(256))
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None


def write_json(data: dict, path: str | Path) -> None:
    """Write atomically (temp file + rename): an interrupted run never leaves a half file
    that a later run would take as up to date."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        # json.dumps, not json.dump: dump streams through the pure-Python encoder (~10x slower).
        f.write(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def convert_to_file(root: str | Path, split: str, out: str | Path, *, workers: int | None = None,
                    strict: bool = True, force: bool = False,
                    progress: bool = True) -> ConversionSummary | None:
    """Convert ``split`` into ``out`` unless ``out`` is up to date; None when skipped.

    ``source_fingerprint`` is the first key of the json so the check reads a few bytes. It
    is taken before converting: a file changed during the run makes the next run reconvert.
    """
    root = Path(root)
    resolved = _resolve_workers(workers)
    tasks, list_files = _tasks(root, split, strict)
    fingerprint = _fingerprint(tasks, list_files, split, strict, resolved, progress)
    if not force and stored_fingerprint(out) == fingerprint:
        logger.info("%s: up to date, skipped (use --force to reconvert)", out)
        return None
    data, summary = _run(tasks, split, resolved, progress)
    write_json({"source_fingerprint": fingerprint, **data}, out)
    logger.info("wrote %s", out)
    return summary
