"""Atomic file writes (stdlib only): a reader never sees a half-written file.

Outputs that a later run checks for "up to date" (converted annotation json, TensorRT
engines, calibration caches) are written to a hidden temporary file in the same folder and
renamed over the target; an interrupted run leaves the old file (or none), never a torn one.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write (by any writer), renamed over ``path`` on
    success and removed on failure; creates parent folders.

    The temporary name keeps the suffix (video writers and exporters pick the format from it) and
    carries the process id, so two processes writing the same target do not write into each
    other's file; the last rename wins.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic(path: str | Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically (:func:`atomic_output`)."""
    with atomic_output(path) as tmp:
        if isinstance(data, str):
            with open(tmp, "w", encoding=encoding) as f:
                f.write(data)
        else:
            tmp.write_bytes(data)
    return Path(path)
