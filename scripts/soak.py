"""Soak test of tools/infer_stream.py: a looping source for many frames in one process, then the
growth of resident memory, threads and file descriptors (docs/reliability.md, "Soak").

    python scripts/soak.py                       # 10,000 frames of the sample video, built-in model
    python scripts/soak.py --frames 500 --json out.json

Runs infer_stream's ``main`` in this process twice with ``--loop``: a warm-up run (allocators,
onnxruntime arenas and lazy imports settle), then the measured run. Between the two, and after
the second, it counts RSS (``/proc/self/status``), threads (Python and native, ``/proc/self/task``)
and open descriptors (``/proc/self/fd``). Each run opens and closes its own engine, source,
reader thread and writers, so a leak of any of them shows up as growth. Linux only.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snapshot() -> dict:
    gc.collect()
    with open("/proc/self/status") as f:
        rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return {
        "rss_mb": round(rss_kb / 1024, 1),
        "python_threads": threading.active_count(),
        "native_threads": len(os.listdir("/proc/self/task")),
        "fds": len(os.listdir("/proc/self/fd")),
        "thread_names": sorted(t.name for t in threading.enumerate()),
    }


def load_infer_stream():
    spec = importlib.util.spec_from_file_location("infer_stream", ROOT / "tools" / "infer_stream.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def soak(frames: int, warmup: int, engine: str, out_dir: Path, source: str | None) -> dict:
    tool = load_infer_stream()
    common = ["--engine", engine, "--loop", "--log-every", "30", "--out-dir", str(out_dir)]
    if source:
        common.insert(0, source)
    rc = tool.main([*common, "--max-frames", str(warmup), "--summary-json", str(out_dir / "warmup.json")])
    if rc != 0:
        raise SystemExit(f"warm-up run failed with exit code {rc}")
    before = snapshot()
    t0 = time.perf_counter()
    rc = tool.main([*common, "--max-frames", str(frames), "--summary-json", str(out_dir / "soak.json")])
    seconds = time.perf_counter() - t0
    after = snapshot()
    summary = json.loads((out_dir / "soak.json").read_text())
    jsonl = next(out_dir.glob("*.jsonl"))
    with jsonl.open() as f:
        lines = sum(1 for _ in f)
    return {
        "frames": summary["frames"], "jsonl_lines": lines, "exit_code": rc, "seconds": round(seconds, 1),
        "fps": round(summary["frames"] / seconds, 1), "resets": summary["resets"],
        "before": before, "after": after,
        "rss_growth_mb": round(after["rss_mb"] - before["rss_mb"], 1),
        "thread_growth": after["native_threads"] - before["native_threads"],
        "fd_growth": after["fds"] - before["fds"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=10_000, help="measured frames (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="frames of the warm-up run (default: %(default)s)")
    parser.add_argument("--engine", default="onnx", help="infer_stream --engine (default: %(default)s)")
    parser.add_argument("--source", help="video file to loop (default: the built-in sample video)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tsmdet-soak-") as tmp:
        result = soak(args.frames, args.warmup, args.engine, Path(tmp), args.source)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    print(f"RSS {result['before']['rss_mb']} -> {result['after']['rss_mb']} MB (+{result['rss_growth_mb']}), "
          f"threads {result['before']['native_threads']} -> {result['after']['native_threads']}, "
          f"fds {result['before']['fds']} -> {result['after']['fds']}, {result['fps']} FPS", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
