"""Command-line arguments of the streaming tools, kept here so tools stay thin and tests can import them.

``tools/infer_stream.py`` adds these next to the engine's own arguments, checks them with
:func:`check_stream_args` before any work starts (the source exists, a window can be shown),
opens its engine, then calls :func:`run_from_args` (source, sinks, :func:`run_stream`, the
summary JSON on every exit) and returns :func:`exit_code` of the summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from tsmdet.streaming.pipeline import EngineLike, StreamSummary, run_stream
from tsmdet.streaming.sinks import JsonlSink, Sink, SinkError, VideoSink, WindowSink, display_problem
from tsmdet.streaming.sources import (
    FrameSource, ReconnectPolicy, SourceError, SourceKind, classify_source, open_source,
)
from tsmdet.utils.atomic import write_atomic

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
    src.add_argument("--loop", action="store_true",
                     help="replay a video file endlessly (with --max-frames: soak tests, demos); "
                          "the state is "
                          "reset at every new pass")
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


def check_stream_args(args: argparse.Namespace) -> SourceKind:
    """What can be checked before an engine is opened: the source names something that exists
    (files and folders), ``--loop`` is a video file, ``--show`` has a display. Raises InputError."""
    kind = classify_source(args.source)
    if getattr(args, "loop", False) and kind is not SourceKind.VIDEO:
        raise SourceError(f"--loop: {args.source} is a {kind.value} source; only a video file can be looped")
    if args.show and (problem := display_problem()) is not None:
        raise SinkError(f"--show: cannot show a window: {problem}; write a video or JSONL instead")
    for flag in ("out_video", "out_jsonl", "summary_json"):
        path = getattr(args, flag, None)
        if path and Path(path).is_dir():
            raise SinkError(f"--{flag.replace('_', '-')} {path}: is a folder, not a file")
    return kind


def source_from_args(args: argparse.Namespace) -> FrameSource:
    policy = ReconnectPolicy(max_tries=args.reconnect_tries, backoff_s=args.reconnect_backoff)
    return open_source(args.source, queue_size=args.queue_size, reconnect=policy, folder_fps=args.folder_fps,
                       loop=getattr(args, "loop", False))


def write_summary(path: str | os.PathLike, summary: StreamSummary) -> None:
    """The summary JSON, written whole (temporary file + rename): a reader never sees half of it."""
    write_atomic(path, json.dumps(summary.to_dict(), indent=2))


def run_from_args(args: argparse.Namespace, engine: EngineLike, classes: Sequence[str]) -> StreamSummary:
    """Open the source and the sinks, run the stream, write ``--summary-json`` on every exit.

    The source and every opened sink are closed on every path (a sink that cannot be opened
    closes the source, so no reader thread outlives the call).
    """
    source = source_from_args(args)
    try:
        sinks = sinks_from_args(args, classes, source.fps)
    except BaseException:
        source.close()
        raise
    on_end = (lambda summary: write_summary(args.summary_json, summary)) if args.summary_json else None
    return run_stream(source, engine, sinks, max_frames=args.max_frames, log_every_s=args.log_every,
                      on_end=on_end)


def exit_code(summary: StreamSummary) -> int:
    """The README's table: 128 + signal when interrupted, 1 when a live source was lost, else 0
    (a truncated file or skipped images are warnings and counts in the summary, not failures)."""
    if summary.interrupted:
        return 128 + (summary.stop_signal or 2)
    return 1 if summary.end_reason == "reconnect_failed" else 0


def sinks_from_args(args: argparse.Namespace, classes: Sequence[str], source_fps: float | None) -> list[Sink]:
    """Open the requested sinks; if one fails, those already open are closed before raising."""
    with ExitStack() as stack:
        sinks: list[Sink] = []
        if args.show:  # first: the one that can fail for reasons outside our files
            sinks.append(stack.enter_context(WindowSink(classes=classes, score_thr=args.draw_thr)))
        if args.out_jsonl:
            sinks.append(stack.enter_context(JsonlSink(args.out_jsonl, classes)))
        if args.out_video:
            fps = source_fps or DEFAULT_VIDEO_FPS
            sinks.append(
                stack.enter_context(VideoSink(args.out_video, fps, classes=classes, score_thr=args.draw_thr))
            )
        if getattr(args, "out_events", None):  # recognition: one line per gesture event
            from tsmdet.streaming.events import GestureEventSink

            sinks.append(stack.enter_context(GestureEventSink(args.out_events, classes)))
        if not sinks:
            logger.warning("no output requested (--out-video, --out-jsonl, --show): only timing is reported")
        stack.pop_all()
        return sinks
