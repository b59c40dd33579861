"""Annotation lists of video classification sets: the TSM release's and MMAction2's formats.

Three line layouts exist in the wild (docs/recognition.md):

* ``tsm``       -- ``<frame_folder> <num_frames> <label>`` (original TSM release; frames
  named by a template such as ``img_{:05d}.jpg`` or ``{:05d}.jpg``, numbered from 1);
* ``rawframes`` -- ``<frame_dir> <total_frames> <label>`` (MMAction2; the same columns,
  ``img_{:05d}.jpg`` from 1 by default);
* ``video``     -- ``<video_path> <label>`` (MMAction2; the frame count comes from the decoder).

Parsing is pure Python (no OpenMMLab import) so that the synthetic generator, the tests
and any tool can read and write lists without mmengine. Every error names the file and the
1-based line, because a 240k-line Kinetics list with one bad row is otherwise a hunt.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

LIST_FORMATS: tuple[str, ...] = ("tsm", "rawframes", "video")
FRAME_FORMATS: tuple[str, ...] = ("tsm", "rawframes")


class AnnotationError(ValueError):
    """A malformed annotation or class-name file; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class VideoRecord:
    """One line of an annotation list.

    ``path`` is the video file or frame folder as written in the list, joined with the
    data prefix; ``total_frames`` is ``None`` for video lists (known after decoding).
    """

    path: str
    label: int
    total_frames: int | None
    line: int  # 1-based line number in the list, for error messages


def load_class_names(path: str | os.PathLike) -> list[str]:
    """Class names, one per line; index = line number (TSM's ``category.txt``, MMAction2's label map).

    Blank lines are an error (they would shift every later index silently).
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"class-name file not found: {path}")
    names = path.read_text().splitlines()
    while names and not names[-1].strip():  # a trailing newline is fine
        names.pop()
    for i, name in enumerate(names, start=1):
        if not name.strip():
            raise AnnotationError(f"{path}:{i}: empty class name (index {i - 1} would be unnamed)")
    return [n.strip() for n in names]


def parse_annotation_list(
    path: str | os.PathLike,
    list_format: str,
    num_classes: int | None = None,
    prefix: str | os.PathLike = "",
    check_exists: bool = True,
) -> list[VideoRecord]:
    """Read an annotation list; every problem is an :class:`AnnotationError` naming ``path:line``.

    Args:
        list_format: ``'tsm'``, ``'rawframes'`` or ``'video'`` (see the module docstring).
        num_classes: if given, labels outside ``[0, num_classes)`` are errors (unknown class).
        prefix: folder the list's paths are relative to (``data_prefix`` of the dataset).
        check_exists: fail on a video file / frame folder that does not exist (at start, not
            deep inside a dataloader worker).

    Paths may contain spaces in the video format only if the label is the last field;
    frame formats split from the right so a folder name with spaces also works.
    """
    if list_format not in LIST_FORMATS:
        raise ValueError(f"list_format must be one of {LIST_FORMATS}, got {list_format!r}")
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"annotation list not found: {path}")
    num_fields = 2 if list_format == "video" else 3
    records: list[VideoRecord] = []
    with path.open() as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.rsplit(maxsplit=num_fields - 1)
            if len(fields) != num_fields:
                raise AnnotationError(f"{path}:{lineno}: expected {_layout(list_format)}, got {line!r}")
            try:
                label = int(fields[-1])
                total = int(fields[1]) if num_fields == 3 else None
            except ValueError:
                raise AnnotationError(f"{path}:{lineno}: expected {_layout(list_format)} with integer "
                                      f"fields, got {line!r}") from None
            if label < 0 or (num_classes is not None and label >= num_classes):
                raise AnnotationError(f"{path}:{lineno}: unknown class index {label} "
                                      f"(the set has {num_classes} classes)")
            if total is not None and total <= 0:
                raise AnnotationError(f"{path}:{lineno}: frame count must be positive, got {total}")
            full = os.path.join(str(prefix), fields[0]) if str(prefix) else fields[0]
            if check_exists:
                ok = os.path.isfile(full) if list_format == "video" else os.path.isdir(full)
                if not ok:
                    what = "video file" if list_format == "video" else "frame folder"
                    raise AnnotationError(f"{path}:{lineno}: {what} not found: {full}")
            records.append(VideoRecord(path=full, label=label, total_frames=total, line=lineno))
    if not records:
        raise AnnotationError(f"{path}: no annotation lines")
    return records


def _layout(list_format: str) -> str:
    return {"tsm": "'<frame_folder> <num_frames> <label>'",
            "rawframes": "'<frame_dir> <total_frames> <label>'",
            "video": "'<video_path> <label>'"}[list_format]


def format_line(path: str, label: int, total_frames: int | None = None) -> str:
    """One list line: ``path label`` (video) or ``path total_frames label`` (frame folders)."""
    return f"{path} {label}" if total_frames is None else f"{path} {total_frames} {label}"


def write_annotation_list(path: str | os.PathLike, rows: Sequence[tuple[str, int | None, int]]) -> Path:
    """Write ``(path, total_frames or None, label)`` rows, one per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(format_line(p, label, total) + "\n" for p, total, label in rows))
    return path
