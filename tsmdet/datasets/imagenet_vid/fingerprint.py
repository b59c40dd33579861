"""Source fingerprint: a cheap digest of what a conversion depends on, to skip up-to-date outputs."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .listing import exists_cached, listdir
from ..parallel import parallel_map
from .records import FORMAT_VERSION, ConvertTask


def _stat_line(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{path.name} missing\n"
    return f"{path.name} {st.st_size} {st.st_mtime_ns}\n"


def _fingerprint_task(task: ConvertTask) -> str:
    """Digest of what a task's output depends on: XML (name, size, mtime) and image names.

    Cheap on purpose: stats and directory listings, no XML parsing, no image reading.
    """
    h = hashlib.sha256()
    root = Path(task.root)
    if task.split == "det":
        listings: dict[Path, set[str]] = {}
        for item in task.items:
            present = exists_cached(root / "Data" / "DET" / f"{item}.JPEG", listings)
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
    h.update("\n".join(sorted(listdir(root / "Data" / "VID" / name))).encode())
    return h.hexdigest()


def fingerprint_tasks(tasks: list[ConvertTask], list_files: list[Path], split: str, strict: bool,
                 workers: int, progress: bool) -> str:
    h = hashlib.sha256(f"tsmdet-imagenet-vid v{FORMAT_VERSION} {split} strict={strict}\n".encode())
    for path in list_files:
        h.update(_stat_line(path).encode())
    for digest in parallel_map(_fingerprint_task, tasks, workers, "fingerprint", progress):
        h.update(digest.encode())
    return h.hexdigest()


_FINGERPRINT_HEAD = re.compile(r'^\{"source_fingerprint":\s*"([0-9a-f]{64})"')


def stored_fingerprint(path: str | Path) -> str | None:
    """The fingerprint of an existing output, read from its first bytes (the file may be GBs)."""
    try:
        with open(path, encoding="utf-8") as f:
            match = _FINGERPRINT_HEAD.match(f.read(256))
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None
