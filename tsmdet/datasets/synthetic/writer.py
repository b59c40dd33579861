"""Writing synthetic videos to disk: the ILSVRC2015 VID folders, ImageSets, mp4 files, version marker."""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2

from ..parallel import parallel_map
from ..vid_classes import CLASS_NAMES, WNID_TO_NAME
from ..vid_xml import FrameAnnotation, write_frame_xml
from .render import render_synthetic_video
from .scene import SYNTHETIC_CLASSES

logger = logging.getLogger(__name__)

# Bumped whenever the same arguments would render different videos (2: the motion
# pair's speed is drawn in pixels). Written to VERSION_FILE so callers can tell a
# stale set from an up-to-date one.
GENERATOR_VERSION = 2
VERSION_FILE = "SYNTHETIC_VERSION"
JPEG_QUALITY = 90
MP4_FPS = 30


@dataclass(frozen=True)
class _VideoSummary:
    split: str
    index: int
    relpath: str              # video folder relative to Data/VID/<split>
    frames: int
    classes: tuple[str, ...]  # classes with at least one box
    boxes: int


def video_relpath(split: str, index: int) -> str:
    """Video folder relative to ``Data/VID/<split>``, named as in ILSVRC2015."""
    if split == "train":
        return f"ILSVRC2015_VID_train_{index // 1000:04d}/ILSVRC2015_train_{index:08d}"
    if split == "val":
        return f"ILSVRC2015_val_{index:08d}"
    raise ValueError(f"no ILSVRC2015 folder for split {split!r}")


def _write_video(out_dir: Path, seed: int, split: str, index: int, frames: int,
                 size: tuple[int, int]) -> _VideoSummary:
    """Write one video's JPEG frames and per-frame XMLs (also for frames without objects)."""
    cv2.setNumThreads(1)  # parallelism comes from the worker processes
    relpath = video_relpath(split, index)
    data_dir = out_dir / "Data" / "VID" / split / relpath
    ann_dir = out_dir / "Annotations" / "VID" / split / relpath
    data_dir.mkdir(parents=True, exist_ok=True)
    classes: set[str] = set()
    boxes = 0
    for t, (image, objects) in enumerate(render_synthetic_video(seed, split, index, frames, size)):
        if not cv2.imwrite(str(data_dir / f"{t:06d}.JPEG"), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"could not write {data_dir / f'{t:06d}.JPEG'}")
        write_frame_xml(ann_dir / f"{t:06d}.xml",
                        FrameAnnotation(folder=relpath, filename=f"{t:06d}", width=size[0],
                                        height=size[1], objects=objects))
        classes.update(WNID_TO_NAME[o.wnid] for o in objects)
        boxes += len(objects)
    ordered = tuple(name for name in SYNTHETIC_CLASSES if name in classes)
    return _VideoSummary(split, index, relpath, frames, ordered, boxes)


def write_sample_video(path: str | Path, seed: int = 0, index: int = 0, frames: int = 96,
                       size: tuple[int, int] = (160, 120)) -> int:
    """Write one val-like synthetic video (mp4v, 30 fps); returns the number of boxes in it.

    The streaming tools' built-in default input: deterministic for a seed, so a
    newcomer's first run sees the same video the docs describe.
    """
    cv2.setNumThreads(1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), MP4_FPS, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v video {path}; is opencv built with FFmpeg?")
    boxes = 0
    try:
        for image, objects in render_synthetic_video(seed, "mp4", index, frames, size):
            writer.write(image)
            boxes += len(objects)
    finally:
        writer.release()
    return boxes


def _write_mp4(out_dir: Path, seed: int, index: int, frames: int, size: tuple[int, int]) -> _VideoSummary:
    """Write one val-like video as ``videos/synthetic_%02d.mp4`` for the streaming tools."""
    path = out_dir / "videos" / f"synthetic_{index:02d}.mp4"
    boxes = write_sample_video(path, seed, index, frames, size)
    return _VideoSummary("mp4", index, str(path.relative_to(out_dir)), frames, (), boxes)


def _write_image_sets(out_dir: Path, summaries: list[_VideoSummary]) -> None:
    """Write ImageSets/VID as in ILSVRC2015.

    train_<k>.txt: the videos containing class k (1-based VID index), lines "<video> 1";
    val.txt: every val frame, lines "<video>/<frame:06d> <running index from 1>".
    """
    set_dir = out_dir / "ImageSets" / "VID"
    set_dir.mkdir(parents=True, exist_ok=True)
    train = sorted((s for s in summaries if s.split == "train"), key=lambda s: s.index)
    for name in SYNTHETIC_CLASSES:
        videos = [s.relpath for s in train if name in s.classes]
        if videos:
            k = CLASS_NAMES.index(name) + 1
            (set_dir / f"train_{k}.txt").write_text("".join(f"{v} 1\n" for v in videos))
    lines, running = [], 1
    for s in sorted((s for s in summaries if s.split == "val"), key=lambda s: s.index):
        for t in range(s.frames):
            lines.append(f"{s.relpath}/{t:06d} {running}\n")
            running += 1
    (set_dir / "val.txt").write_text("".join(lines))


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to mix a new set into an old one (stale videos would survive) unless told to replace it."""
    owned = [out_dir / "Data" / "VID", out_dir / "Annotations" / "VID", out_dir / "ImageSets" / "VID",
             out_dir / "videos", out_dir / VERSION_FILE]
    existing = [p for p in owned if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} already exists; choose an empty output folder "
                              "or overwrite=True (--overwrite)")
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def generator_version(out_dir: str | os.PathLike) -> int | None:
    """The generator version a set in ``out_dir`` was written with (None: unknown or pre-versioning)."""
    try:
        return int((Path(out_dir) / VERSION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def generate_synthetic_vid(out_dir: str | os.PathLike, seed: int = 0, train_videos: int = 24,
                           val_videos: int = 8, frames: int = 32, size: tuple[int, int] = (160, 120),
                           mp4: int = 3, mp4_frames: int = 96, workers: int = 1,
                           overwrite: bool = False, progress: bool = False) -> dict[str, int]:
    """Write a synthetic data set in the ILSVRC2015 VID layout under ``out_dir``.

    ``size`` is (width, height). ``workers`` > 1 renders videos in that many
    processes; the output is identical for any worker count. Returns counts:
    videos, frames and boxes per split, and the number of mp4 files.
    """
    out_dir = Path(out_dir)
    if min(train_videos, val_videos, mp4) < 0 or frames < 1 or mp4_frames < 1 or min(size) < 16:
        raise ValueError("need non-negative video counts, at least one frame and an image of at least 16x16")
    _prepare_out_dir(out_dir, overwrite)
    jobs = ([(_write_video, out_dir, seed, "train", i, frames, size) for i in range(train_videos)]
            + [(_write_video, out_dir, seed, "val", i, frames, size) for i in range(val_videos)]
            + [(_write_mp4, out_dir, seed, i, mp4_frames, size) for i in range(mp4)])
    summaries = list(parallel_map(_run_job, jobs, workers, "synthetic videos", progress, unit="video"))
    _write_image_sets(out_dir, summaries)
    (out_dir / VERSION_FILE).write_text(f"{GENERATOR_VERSION}\n")
    counts = {"mp4_videos": mp4}
    for split in ("train", "val"):
        done = [s for s in summaries if s.split == split]
        counts[f"{split}_videos"] = len(done)
        counts[f"{split}_frames"] = sum(s.frames for s in done)
        counts[f"{split}_boxes"] = sum(s.boxes for s in done)
    logger.info("synthetic VID written to %s: %s", out_dir, counts)
    return counts


def _run_job(job: tuple) -> _VideoSummary:
    """Module-level trampoline so jobs pickle for the process pool."""
    function, *args = job
    return function(*args)
