"""The converter's public entry points: one split to a dict, or to an up-to-date json file."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from tsmdet.utils.atomic import write_atomic

from .assemble import assemble, log_summary
from .fingerprint import fingerprint_tasks, stored_fingerprint
from .frames import convert_task
from .listing import make_tasks
from ..parallel import parallel_map, resolve_workers
from .records import VID_SPLITS, ConversionSummary, ConvertTask

logger = logging.getLogger(__name__)


def _run(tasks: list[ConvertTask], split: str, workers: int, progress: bool) -> tuple[dict, ConversionSummary]:
    data = assemble(parallel_map(convert_task, tasks, workers, split, progress), split)
    summary = ConversionSummary(**data["summary"])
    log_summary(summary)
    return data, summary


def convert(root: str | Path, split: str, *, workers: int | None = None, strict: bool = True,
            progress: bool = True) -> dict:
    """Convert one split (``train``, ``val`` or ``det``) into a CocoVID-style dict.

    Raises FileNotFoundError naming the missing folder/list, and AnnotationError naming the
    file when ``strict`` and an annotation is bad (see the module docstring for the policy).
    """
    tasks, _ = make_tasks(Path(root), split, strict)
    return _run(tasks, split, resolve_workers(workers), progress)[0]


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
    tasks, list_files = make_tasks(Path(root), split, strict)
    return fingerprint_tasks(tasks, list_files, split, strict, resolve_workers(workers), progress)


def write_json(data: dict, path: str | Path) -> None:
    """Write atomically (temp file + rename): an interrupted run never leaves a half file
    that a later run would take as up to date."""
    # json.dumps, not json.dump: dump streams through the pure-Python encoder (~10x slower).
    write_atomic(path, json.dumps(data, separators=(",", ":")))


def convert_to_file(root: str | Path, split: str, out: str | Path, *, workers: int | None = None,
                    strict: bool = True, force: bool = False,
                    progress: bool = True) -> ConversionSummary | None:
    """Convert ``split`` into ``out`` unless ``out`` is up to date; None when skipped.

    ``source_fingerprint`` is the first key of the json so the check reads a few bytes. It
    is taken before converting: a file changed during the run makes the next run reconvert.
    """
    root = Path(root)
    resolved = resolve_workers(workers)
    tasks, list_files = make_tasks(root, split, strict)
    fingerprint = fingerprint_tasks(tasks, list_files, split, strict, resolved, progress)
    if not force and stored_fingerprint(out) == fingerprint:
        logger.info("%s: up to date, skipped (use --force to reconvert)", out)
        return None
    data, summary = _run(tasks, split, resolved, progress)
    write_json({"source_fingerprint": fingerprint, **data}, out)
    logger.info("wrote %s", out)
    return summary
