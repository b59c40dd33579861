"""Which videos (or DET images) a split holds: ImageSets list files, folder listings, worker tasks."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from ..vid_xml import AnnotationError
from .records import SPLITS, VID_SPLITS, ConvertTask

# DET images per worker task (one task per video in VID).
_DET_CHUNK = 256


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


def make_tasks(root: Path, split: str, strict: bool) -> tuple[list[ConvertTask], list[Path]]:
    if split == "det":
        paths, list_files = _det_images(root)
        chunks = [tuple(paths[i:i + _DET_CHUNK]) for i in range(0, len(paths), _DET_CHUNK)]
    else:
        if split not in VID_SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        names, list_files = _vid_videos(root, split)
        chunks = [(name,) for name in names]
    return [ConvertTask(str(root), split, chunk, strict) for chunk in chunks], list_files


def listdir(path: Path) -> set[str]:
    """File names in a folder (empty when it does not exist): one readdir, not one stat per frame."""
    try:
        return set(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return set()


def exists_cached(path: Path, listings: dict[Path, set[str]]) -> bool:
    """Existence through a per-folder listing cache (DET images share a few folders per chunk)."""
    if path.parent not in listings:
        listings[path.parent] = listdir(path.parent)
    return path.name in listings[path.parent]
