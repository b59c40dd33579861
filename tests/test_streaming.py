"""Streaming: sources (policies, failures, reconnect), sinks, the runner's resets and error paths, latency."""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsmdet.streaming import (
    EndReason,
    JsonlSink,
    LatencyMeter,
    ReconnectPolicy,
    SinkError,
    SourceError,
    VideoSink,
    WindowSink,
    class_color,
    draw_detections,
    format_latency_table,
    open_source,
    percentiles,
    run_stream,
)
from tsmdet.streaming.cli import add_stream_arguments, sinks_from_args
from video_helpers import count_video_frames

W, H = 64, 48
CLASSES = ("cat", "dog")
FAST_RECONNECT = ReconnectPolicy(max_tries=2, backoff_s=0.001, max_backoff_s=0.002)


def _image(value: int) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def _frame_value(image: np.ndarray) -> int:
    return int(round(float(image.mean())))


def _write_video(path: Path, n: int, step: int = 20) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (W, H))
    assert writer.isOpened()
    for i in range(n):
        writer.write(_image(i * step))
    writer.release()
    return path


# ---------------------------------------------------------------- fakes


@dataclass
class FakeDetections:
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


@dataclass
class FakeTimes:
    preprocess: float = 1.0
    inference: float = 2.0
    postprocess: float = 0.5


@dataclass
class FakeEngine:
    """Detections encode a per-stream frame counter (the 'state'): box x1 == frames since reset."""

    fail_at_call: int | None = None
    counters: dict[int, int] = field(default_factory=dict)
    resets: list[int | None] = field(default_factory=list)
    calls: int = 0
    last_times: FakeTimes = field(default_factory=FakeTimes)

    def reset(self, stream: int | None = None) -> None:
        self.resets.append(stream)
        if stream is None:
            self.counters.clear()
        else:
            self.counters[stream] = 0

    def infer(self, frames: list[np.ndarray], streams: list[int] | None = None) -> list[FakeDetections]:
        if self.fail_at_call is not None and self.calls == self.fail_at_call:
            raise RuntimeError("engine exploded")
        self.calls += 1
        out = []
        for stream in streams if streams is not None else range(len(frames)):
            k = self.counters.get(stream, 0)
            self.counters[stream] = k + 1
            out.append(
                FakeDetections(
                    boxes=np.array([[k, 2, k + 10, 20]], np.float32),
                    scores=np.array([0.9], np.float32),
                    labels=np.array([k % 2]),
                )
            )
        return out


class FakeCapture:
    """A live capture that yields frames with values ``values`` then fails (the stream 'drops')."""

    def __init__(self, values: list[int], opened: bool = True, read_delay_s: float = 0.0) -> None:
        self._values = list(values)
        self._opened = opened
        self._delay = read_delay_s
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802
        return self._opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(self._delay)
        if not self._values:
            return False, None
        return True, _image(self._values.pop(0))

    def get(self, prop_id: int) -> float:
        return 25.0 if prop_id == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True


class CaptureFactory:
    """Hands out prepared captures in order, then captures that do not open."""

    def __init__(self, captures: list[FakeCapture]) -> None:
        self.captures = list(captures)
        self.opened: list[FakeCapture] = []

    def __call__(self, target: str | int) -> FakeCapture:
        cap = self.captures.pop(0) if self.captures else FakeCapture([], opened=False)
        self.opened.append(cap)
        return cap


# ---------------------------------------------------------------- sources


def test_video_file_is_lossless_and_in_order(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 12)
    with open_source(str(video), queue_size=2) as source:
        assert not source.live and source.fps == pytest.approx(10.0)
        frames = []
        for frame in source:
            time.sleep(0.002)  # slower than the decoder: a lossless queue must still keep everything
            frames.append(frame)
    assert [f.index for f in frames] == list(range(12))
    values = [_frame_value(f.image) for f in frames]
    assert values == sorted(values) and abs(values[-1] - 220) <= 4
    assert [f.timestamp for f in frames] == pytest.approx([i / 10 for i in range(12)])
    assert source.stats.frames_dropped == 0 and source.stats.frames_read == 12
    assert source.stats.end_reason is EndReason.END_OF_STREAM


def test_image_folder_sorted_by_name_case_insensitive_suffixes(tmp_path: Path) -> None:
    for name, value in [("10.png", 40), ("02.png", 20), ("01.bmp", 10), ("03.PNG", 30)]:
        cv2.imwrite(str(tmp_path / name.lower()), _image(value))
        (tmp_path / name.lower()).rename(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(str(tmp_path), folder_fps=5.0) as source:
        frames = list(source)
    assert [_frame_value(f.image) for f in frames] == [10, 20, 30, 40]
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_corrupt_image_in_folder_is_skipped_counted_and_logged(tmp_path: Path, caplog) -> None:
    cv2.imwrite(str(tmp_path / "0000.png"), _image(10))
    (tmp_path / "0001.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    cv2.imwrite(str(tmp_path / "0002.png"), _image(30))
    with (
        caplog.at_level(logging.WARNING, logger="tsmdet.streaming.sources"),
        open_source(str(tmp_path)) as source,
    ):
        frames = list(source)
    assert [_frame_value(f.image) for f in frames] == [10, 30]
    assert source.stats.corrupt_frames == 1
    assert "0001.jpg" in caplog.text
    assert source.stats.end_reason is EndReason.END_OF_STREAM


def test_missing_path_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match="nope.mp4"):
        open_source(str(missing))


def test_unreadable_video_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 10)
    with pytest.raises(SourceError, match="broken.mp4"):
        open_source(str(bad))


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path))


def test_missing_camera_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="camera 7 could not be opened"):
        open_source("7")


def test_live_source_drops_oldest_on_slow_consumer() -> None:
    factory = CaptureFactory([FakeCapture(list(range(60)))])
    with open_source(
        "rtsp://fake/cam", queue_size=3, capture_factory=factory, reconnect=ReconnectPolicy(max_tries=0)
    ) as source:
        assert source.live
        frames = []
        for frame in source:
            time.sleep(0.003)
            frames.append(frame)
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))  # order preserved, no duplicates
    assert [_frame_value(f.image) for f in frames] == indices  # the value written is the index read
    assert source.stats.frames_dropped > 0
    assert source.stats.frames_read == 60 == len(frames) + source.stats.frames_dropped
    assert source.stats.end_reason is EndReason.RECONNECT_FAILED


def test_close_stops_a_blocked_reader(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 30, step=8)
    source = open_source(str(video), queue_size=1)
    first = next(iter(source))
    source.close()
    source.close()  # idempotent
    assert first.index == 0
    assert source.stats.end_reason is EndReason.CLOSED
    assert not any(t.name.startswith("tsmdet-source") and t.is_alive() for t in threading.enumerate())


def test_reader_bug_is_raised_to_the_consumer() -> None:
    class Exploding(FakeCapture):
        def read(self) -> tuple[bool, np.ndarray | None]:
            raise ZeroDivisionError("bug in the reader")

    source = open_source("rtsp://fake/cam", capture_factory=lambda target: Exploding([]))
    with source, pytest.raises(ZeroDivisionError):
        list(source)
    assert source.stats.end_reason is EndReason.ERROR


# ---------------------------------------------------------------- runner


def test_live_reconnect_restarts_and_resets_engine_state(tmp_path: Path) -> None:
    factory = CaptureFactory(
        [
            FakeCapture([0, 1, 2], read_delay_s=0.001),
            FakeCapture([], opened=False),  # first reopen attempt fails
            FakeCapture([3, 4], read_delay_s=0.001),
        ]
    )
    source = open_source("rtsp://fake/cam", queue_size=16, capture_factory=factory, reconnect=FAST_RECONNECT)
    engine = FakeEngine()
    out = tmp_path / "dets.jsonl"
    summary = run_stream(source, engine, [JsonlSink(out, CLASSES)])

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["restart"] for r in records] == [False, False, False, True, False]
    assert [r["detections"][0]["box"][0] for r in records] == [0, 1, 2, 0, 1]  # state counter reset
    assert engine.resets == [0, 0]
    assert summary.reconnects == 1 and summary.resets == 2 and summary.frames == 5
    assert summary.end_reason == "reconnect_failed" and not summary.interrupted
    assert all(cap.released for cap in factory.opened)


def test_engine_error_leaves_complete_outputs(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 8)
    jsonl, annotated = tmp_path / "out" / "dets.jsonl", tmp_path / "out" / "annotated.mp4"
    source = open_source(str(video))
    sinks = [JsonlSink(jsonl, CLASSES), VideoSink(annotated, fps=10.0, classes=CLASSES)]
    k = 5
    with pytest.raises(RuntimeError, match="engine exploded"):
        run_stream(source, FakeEngine(fail_at_call=k), sinks)

    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(k))
    assert records[1]["detections"] == [
        {"box": [1.0, 2.0, 11.0, 20.0], "score": 0.9, "label": 1, "class": "dog"}
    ]
    assert count_video_frames(annotated) == k


def test_keyboard_interrupt_ends_cleanly(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 10)
    jsonl = tmp_path / "dets.jsonl"

    def interrupt(frame, dets) -> None:
        if frame.index == 2:
            raise KeyboardInterrupt

    summary = run_stream(open_source(str(video)), FakeEngine(), [JsonlSink(jsonl)], on_frame=interrupt)
    assert summary.interrupted and summary.end_reason == "interrupted" and summary.frames == 3
    assert len(jsonl.read_text().splitlines()) == 3


def test_max_frames_and_latency_summary(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 10)
    summary = run_stream(open_source(str(video)), FakeEngine(), [], max_frames=4)
    assert summary.frames == 4 and summary.end_reason == "max_frames" and summary.resets == 1
    stages = summary.latency["stages"]
    assert stages["inference"]["p50"] == pytest.approx(2.0)
    assert stages["end_to_end"]["count"] == 4 and stages["end_to_end"]["mean"] >= stages["decode"]["mean"]
    json.dumps(summary.to_dict())
    assert "inference" in summary.report()


# ---------------------------------------------------------------- sinks


def test_draw_detections_colours_per_class_and_leaves_input_alone() -> None:
    image = _image(0)
    dets = FakeDetections(
        boxes=np.array([[2, 2, 30, 40], [34, 2, 60, 40]], np.float32),
        scores=np.array([0.8, 0.1], np.float32),
        labels=np.array([0, 1]),
    )
    drawn = draw_detections(image, dets, CLASSES)
    assert image.max() == 0 and drawn.shape == image.shape and drawn.max() > 0
    assert len({class_color(i) for i in range(30)}) == 30
    thresholded = draw_detections(image, dets, CLASSES, score_thr=0.5)
    assert thresholded[20:40, 45:60].max() == 0  # the 0.1-score box is not drawn


def test_sink_close_is_idempotent_and_write_after_close_fails(tmp_path: Path) -> None:
    with JsonlSink(tmp_path / "a.jsonl") as sink:
        pass
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.write(None, None)  # type: ignore[arg-type]
    VideoSink(tmp_path / "never_written.mp4", fps=10.0).close()


def test_window_sink_without_display_says_so(monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with pytest.raises(SinkError, match="display"):
        WindowSink()


def test_cli_arguments_build_sinks(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_stream_arguments(parser)
    args = parser.parse_args(
        [
            "clip.mp4",
            "--out-jsonl",
            str(tmp_path / "d.jsonl"),
            "--out-video",
            str(tmp_path / "v.mp4"),
            "--max-frames",
            "3",
        ]
    )
    sinks = sinks_from_args(args, CLASSES, source_fps=None)
    assert [type(s) for s in sinks] == [JsonlSink, VideoSink] and sinks[1].fps == 30.0
    for sink in sinks:
        sink.close()
    with pytest.raises(SystemExit):
        parser.parse_args(["clip.mp4", "--max-frames", "0"])


# ---------------------------------------------------------------- latency


def test_latency_percentiles_match_numpy() -> None:
    rng = np.random.default_rng(0)
    data = rng.gamma(2.0, 3.0, size=1001)
    meter = LatencyMeter(["inference"])
    for value in data:
        meter.add("inference", value)
    stats = meter.stage("inference")
    assert stats is not None and stats.count == 1001
    assert [stats.p50, stats.p90, stats.p99] == pytest.approx(np.percentile(data, [50, 90, 99]).tolist())
    assert stats.mean == pytest.approx(data.mean()) and stats.max == pytest.approx(data.max())
    assert percentiles(list(range(1, 101))) == pytest.approx([50.5, 90.1, 99.01])


def test_latency_fps_window_and_table() -> None:
    meter = LatencyMeter(["decode", "unused"], window=5, max_samples=10)
    for i in range(21):
        meter.add("decode", float(i))
        meter.tick(now=i * 0.1 if i < 16 else 1.5 + (i - 15) * 0.05)  # 10 FPS, then 20 FPS
    assert meter.live_fps() == pytest.approx(20.0)
    assert meter.fps == pytest.approx(20 / 1.75)  # first to last tick
    assert meter.live_mean("decode") == pytest.approx(18.0)
    summary = meter.summary()
    assert list(summary["stages"]) == ["decode"]  # stages without samples are left out
    decode = summary["stages"]["decode"]
    assert decode["count"] == 21 and decode["mean"] == pytest.approx(10.0)  # over all samples
    assert decode["p50"] == pytest.approx(15.5)  # over the last 10 kept
    table = format_latency_table(json.loads(json.dumps(summary)))
    assert "decode" in table and "21 frames" in table
