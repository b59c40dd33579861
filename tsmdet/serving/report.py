"""Load-test outputs: the PNG (throughput and p99 against streams), the Markdown table; the frames sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """Throughput and p99 latency against the number of streams, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    streams = [lv["streams"] for lv in report["levels"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(
        streams,
        [lv["fps"] for lv in report["levels"]],
        "o-",
        color="tab:blue",
        label="frames/s (all streams)",
    )
    ax.set_xlabel("concurrent streams")
    ax.set_ylabel("aggregate frames/s", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(
        streams, [lv["latency_ms"]["p99"] for lv in report["levels"]], "s--", color="tab:red", label="p99"
    )
    ax2.set_ylabel("p99 latency per frame (ms)", color="tab:red")
    ax.set_xticks(streams)
    ax.set_ylim(bottom=0)  # from zero: a flat line must look flat
    ax2.set_ylim(bottom=0)
    ax.set_title(f"Triton sequence batching: {report['model']}")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def format_table(report: dict[str, Any]) -> str:
    """The Markdown table of docs/serving.md."""
    lines = [
        (
            "| streams | frames | frames/s | p50 ms | p90 ms | p99 ms | mean server batch | batches formed "
            "| mismatches |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for lv in report["levels"]:
        formed = ", ".join(f"{k}x{v}" for k, v in lv["server_batches"].items())
        lines.append(
            f"| {lv['streams']} | {lv['frames']} | {lv['fps']} | {lv['latency_ms']['p50']} | "
            f"{lv['latency_ms']['p90']} | {lv['latency_ms']['p99']} | {lv['mean_server_batch']} | "
            f"{formed} | {lv['mismatches']} |"
        )
    return "\n".join(lines)


def read_video_frames(path: str | Path, limit: int = 256) -> list[np.ndarray]:
    """Decoded BGR frames of a video file (at most ``limit``)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise ValueError(f"{path}: no frames could be decoded")
    return frames
