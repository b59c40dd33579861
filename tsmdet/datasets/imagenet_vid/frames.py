"""Worker side of the converter: one VID video or one chunk of DET images -> records.

Applies the bad-input policy of :mod:`tsmdet.datasets.imagenet_vid` frame by frame (clip,
drop, skip, count, warn); runs in a worker process, so warnings travel back in the
:class:`~.records.WorkerResult` instead of being logged here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..vid_classes import WNID_TO_CATEGORY_ID
from ..vid_xml import AnnotationError, FrameAnnotation, VIDObject, read_frame_xml
from .listing import exists_cached, listdir
from .records import BoxRecord, ConversionSummary, ConvertTask, FrameRecord, VideoRecord, WorkerResult

_MAX_LISTED = 10


def _clip(o: VIDObject, width: int, height: int) -> tuple[tuple[float, float, float, float] | None, bool]:
    """The box clipped to the image as (x, y, w, h) (None when nothing is left), and whether it moved."""
    x1, x2 = (min(max(v, 0.0), float(width)) for v in (o.xmin, o.xmax))
    y1, y2 = (min(max(v, 0.0), float(height)) for v in (o.ymin, o.ymax))
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        return None, False
    clipped = (x1, y1, x2, y2) != (o.xmin, o.ymin, o.xmax, o.ymax)
    return (x1, y1, x2 - x1, y2 - y1), clipped


def _boxes(ann: FrameAnnotation, counts: ConversionSummary, det: bool) -> list[BoxRecord]:
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
        boxes.append(BoxRecord(category_id, i if det else o.trackid, bbox, o.occluded, o.generated))
    return boxes


def _bad_annotation(err: AnnotationError, task: ConvertTask, part: WorkerResult, counter: str = "bad_xml_skipped") -> None:
    """The strict policy in one place: raise, or warn and count."""
    if task.strict:
        raise err
    setattr(part.counts, counter, getattr(part.counts, counter) + 1)
    part.warnings.append(f"skipped: {err}")


def _read(path: Path, task: ConvertTask, part: WorkerResult) -> FrameAnnotation | None:
    """read_frame_xml under the strict policy; None when the frame is skipped."""
    try:
        ann = read_frame_xml(path)
        if ann.width <= 0 or ann.height <= 0:
            raise AnnotationError(f"{path}: non-positive image size {ann.width}x{ann.height}")
        return ann
    except AnnotationError as err:
        _bad_annotation(err, task, part)
        return None


def _frame_number(path: Path, task: ConvertTask, part: WorkerResult) -> int | None:
    """The frame id is the number in the file name (NNNNNN.xml); None when skipped."""
    if path.stem.isdigit():
        return int(path.stem)
    _bad_annotation(AnnotationError(f"{path}: file name is not a frame number"), task, part)
    return None


def _format_numbers(numbers: Sequence[int]) -> str:
    shown = ", ".join(f"{n:06d}" for n in numbers[:_MAX_LISTED])
    return shown + (f", ... ({len(numbers)} in all)" if len(numbers) > _MAX_LISTED else "")


def _check_gaps(ann_dir: Path, numbers: list[int], part: WorkerResult) -> None:
    """Frames are numbered from 000000 without holes; a hole means a partial copy."""
    if not numbers:
        return
    missing = sorted(set(range(max(numbers) + 1)) - set(numbers))
    if missing:
        part.counts.videos_with_gaps += 1
        part.counts.missing_frame_numbers += len(missing)
        part.warnings.append(f"{ann_dir}: gap in frame numbers, missing {_format_numbers(missing)}")


def _convert_video(task: ConvertTask) -> WorkerResult:
    """Worker: all frames of one VID video (frames = the XML files of its annotation folder)."""
    part = WorkerResult()
    (name,) = task.items
    root = Path(task.root)
    ann_dir = root / "Annotations" / "VID" / name
    data_dir = root / "Data" / "VID" / name
    if not ann_dir.is_dir():
        err = AnnotationError(f"{ann_dir}: video listed in ImageSets has no annotation folder")
        _bad_annotation(err, task, part, "missing_videos")
        return part
    jpegs = listdir(data_dir)
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
        frames.append(FrameRecord(number, f"{name}/{jpeg}", ann.width, ann.height, boxes))
    if not frames:
        part.counts.videos_without_frames += 1
        part.warnings.append(f"{ann_dir}: no usable frame, video left out")
    part.videos.append(VideoRecord(name, frames))
    return part


def _convert_det_chunk(task: ConvertTask) -> WorkerResult:
    """Worker: a chunk of DET images; each kept image becomes a one-frame video."""
    part = WorkerResult()
    root = Path(task.root)
    listings: dict[Path, set[str]] = {}
    for item in task.items:
        part.counts.frames_seen += 1
        image = root / "Data" / "DET" / f"{item}.JPEG"
        if not exists_cached(image, listings):
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
        part.videos.append(VideoRecord(item, [FrameRecord(0, f"{item}.JPEG", ann.width, ann.height, boxes)]))
    return part


def convert_task(task: ConvertTask) -> WorkerResult:
    return _convert_det_chunk(task) if task.split == "det" else _convert_video(task)
