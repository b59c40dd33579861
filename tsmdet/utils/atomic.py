"""Atomic file writes (stdlib only): a reader never sees a half-written file.

Outputs that a later run checks for "up to date" (converted annotation json, TensorRT
engines, calibration caches) are written to a hidden temporary file in the same folder and
renamed over the target; an interrupted run leaves the old file (or none), never a torn one.
"""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically; creates parent folders.

    The temporary name carries the process id so two processes writing the same target do
    not write into each other's temporary file; the last rename wins.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if isinstance(data, str):
            with open(tmp, "w", encoding=encoding) as f:
                f.write(data)
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
