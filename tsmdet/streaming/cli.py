"""Command-line arguments of the streaming tools, kept here so tools stay thin and tests can import them.

``tools/infer_stream.py`` adds these next to the engine's own arguments, then calls
:func:`source_from_args`, :func:`sinks_from_args` and :func:`tsmdet.streaming.run_stream`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from contextlib import ExitStack

from tsmdet.streaming.sinks import JsonlSink, Sink, VideoSink, WindowSink
from tsmdet.streaming.sources import FrameSource, ReconnectPolicy, open_source

logger = logging.getLogger(__name__)

DEFAULT_VIDEO_FPS = 30.0  # for the output video when the source reports no frame rate


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    """Source, output and run arguments (the engine's arguments are added by the runtime)."""
    src = parser.add_argument_group("source")
    src.add_argument("source", nargs="?", default=None,
                     help="video file, image folder, camera index (0, 1, ...) or rtsp/http(s) URL "
                          "(default: the built-in synthetic sample video)")
    src.add_argument(
        "--queue-size",
        type=_positive_int,
        default=None,
        help="decoded-frame queue length (default: 16 for files, 2 for live sources)",
    )
    src.add_argument(
        "--reconnect-tries",
        type=_non_negative_int,
        default=ReconnectPolicy.max_tries,
        help="reopen attempts after a live source drops (default: %(default)s)",
    )
    src.add_argument(
        "--reconnect-backoff",
        type=_positive_float,
        default=ReconnectPolicy.backoff_s,
        help="first reconnect delay in seconds, doubled per try (default: %(default)s)",
    )
    src.add_argument(
        "--folder-fps",
        type=_positive_float,
        default=30.0,
        help="frame rate assumed for image folders (timestamps, output video)",
    )
    out = parser.add_argument_group("outputs")
    out.add_argument("--out-video", help="annotated video (.mp4)")
    out.add_argument("--out-jsonl", help="detections, one JSON line per frame")
    out.add_argument("--show", action="store_true", help="live window; q or Esc stops")
    out.add_argument(
        "--draw-thr",
        type=float,
        default=0.3,
        help="minimum score drawn in video/window; the JSONL keeps every detection (default: %(default)s)",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--max-frames", type=_positive_int, default=None, help="stop after this many frames")
    run.add_argument(
        "--log-every",
        type=_positive_float,
        default=2.0,
        help="seconds between FPS/latency log lines (default: %(default)s)",
    )
    run.add_argument("--summary-json", help="write the run summary (counts and latency) here")


def source_from_args(args: argparse.Namespace) -> FrameSource:
    policy = ReconnectPolicy(max_tries=args.reconnect_tries, backoff_s=args.reconnect_backoff)
    return open_source(args.source, queue_size=args.queue_size, reconnect=policy, folder_fps=args.folder_fps)


def sinks_from_args(args: argparse.Namespace, classes: Sequence[str], source_fps: float | None) -> list[Sink]:
    """Open the requested sinks; if one fails, those already open are closed before raising."""
    with ExitStack() as stack:
        sinks: list[Sink] = []
        if args.out_jsonl:
            sinks.append(stack.enter_context(JsonlSink(args.out_jsonl, classes)))
        if args.out_video:
            fps = source_fps or DEFAULT_VIDEO_FPS
            sinks.append(
                stack.enter_context(VideoSink(args.out_video, fps, classes=classes, score_thr=args.draw_thr))
            )
        if args.show:
            sinks.append(stack.enter_context(WindowSink(classes=classes, score_thr=args.draw_thr)))
        if not sinks:
            logger.warning("no output requested (--out-video, --out-jsonl, --show): only timing is reported")
        stack.pop_all()
        return sinks
