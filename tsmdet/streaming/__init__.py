"""Streaming inference: frame sources, sinks, the stream runner and latency statistics.

Needs only numpy and OpenCV (no OpenMMLab import), so an exported model runs on a machine
that has just an engine backend. See docs/streaming.md.
"""

from tsmdet.streaming.latency import LatencyMeter, StageStats, format_latency_table, percentiles
from tsmdet.streaming.pipeline import STAGES, EngineLike, StreamSummary, run_stream
from tsmdet.streaming.render import RENDERERS, Renderer, class_color, draw_detections, renderer_for
from tsmdet.streaming.sinks import (
    JsonlSink,
    Sink,
    SinkError,
    VideoSink,
    WindowSink,
)
from tsmdet.streaming.sources import (
    EndReason,
    Frame,
    FrameSource,
    ReconnectPolicy,
    SourceError,
    SourceKind,
    SourceStats,
    classify_source,
    open_source,
)

__all__ = [
    "STAGES",
    "EndReason",
    "EngineLike",
    "Frame",
    "FrameSource",
    "JsonlSink",
    "LatencyMeter",
    "ReconnectPolicy",
    "Sink",
    "SinkError",
    "SourceError",
    "SourceKind",
    "SourceStats",
    "StageStats",
    "StreamSummary",
    "VideoSink",
    "WindowSink",
    "RENDERERS",
    "Renderer",
    "class_color",
    "classify_source",
    "draw_detections",
    "renderer_for",
    "format_latency_table",
    "open_source",
    "percentiles",
    "run_stream",
]
