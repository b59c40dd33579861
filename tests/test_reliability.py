"""Faults that must never lose, misplace or silently ignore anything (issue 13, docs/reliability.md).

Library level, fast: frame identity in folders, truncated files, the restart mark under the
drop-oldest queue, a real MJPEG-over-HTTP server on loopback that drops and comes back, a sink
that raises, stop signals inside run_stream, bad model files, checkpoint refusals, run_tool's
exit codes.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsmdet.streaming import EndReason, Frame, JsonlSink, ReconnectPolicy, VideoSink, open_source, run_stream
from tsmdet.streaming.sinks import Sink
from tsmdet.streaming.sources.reader import FrameQueue
from tsmdet.utils import cli

from test_streaming import CLASSES, FakeEngine, _frame_value, _image, _write_video
from video_helpers import count_video_frames

W, H = 64, 48


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- frame identity


def test_corrupt_image_leaves_a_gap_not_a_shift_and_is_named(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:03d}.png"), _image(i * 30))
    (folder / "002.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "d.jsonl"
    summary = run_stream(open_source(str(folder), folder_fps=10.0), FakeEngine(), [JsonlSink(out, CLASSES)])
    records = _lines(out)
    assert [r["frame"] for r in records] == [0, 1, 3, 4, 5]  # the later frames keep their positions
    assert [r["file"] for r in records] == ["000.png", "001.png", "003.png", "004.png", "005.png"]
    assert [r["time"] for r in records] == pytest.approx([0.0, 0.1, 0.3, 0.4, 0.5])
    assert summary.corrupt == 1 and summary.skipped == ["002.png"]
    assert "002.png" in caplog.text


def _truncated_avi(path: Path, n: int, keep: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
    rng = np.random.default_rng(0)
    for _ in range(n):
        writer.write(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))  # noise: frames of similar size
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def test_truncated_video_warns_and_says_truncated(tmp_path: Path, caplog) -> None:
    video = _truncated_avi(tmp_path / "cut.avi", 30, 0.5)
    out = tmp_path / "d.jsonl"
    summary = run_stream(open_source(str(video)), FakeEngine(), [JsonlSink(out)])
    assert 0 < summary.frames < 30 and len(_lines(out)) == summary.frames
    assert summary.end_reason == "truncated" and summary.expected_frames == 30
    assert f"{summary.frames} frames decoded, the container reports 30" in summary.end_detail
    assert "truncated" in caplog.text and "cut.avi" in caplog.text


def test_complete_video_is_end_of_stream(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "full.mp4", 12)
    summary = run_stream(open_source(str(video)), FakeEngine(), [])
    assert summary.frames == 12 and summary.end_reason == "end_of_stream" and summary.expected_frames == 12


def test_looped_video_counts_on_and_resets_state_each_pass(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 4)
    out = tmp_path / "d.jsonl"
    engine = FakeEngine()
    summary = run_stream(open_source(str(video), loop=True), engine, [JsonlSink(out)], max_frames=10)
    records = _lines(out)
    assert [r["frame"] for r in records] == list(range(10))
    assert [r["restart"] for r in records] == [False, False, False, False, True, False, False, False, True, False]
    assert [r["detections"][0]["box"][0] for r in records] == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert summary.resets == 3 and summary.end_reason == "max_frames"


# ---------------------------------------------------------------- live sources


def _frame(i: int, restarted: bool = False) -> Frame:
    return Frame(i, _image(i), float(i), restarted)


def test_dropped_restart_mark_moves_to_the_next_delivered_frame() -> None:
    queue = FrameQueue(2, drop_oldest=True)
    queue.put(_frame(0, restarted=True))
    queue.put(_frame(1))
    assert queue.put(_frame(2)) == 1  # frame 0 (the restart) dropped
    first = queue.get()
    assert first.index == 1 and first.source_restarted
    # the restart frame is the only queued one and is dropped: the new frame carries it
    queue = FrameQueue(1, drop_oldest=True)
    queue.put(_frame(5, restarted=True))
    queue.put(_frame(6))
    frame = queue.get()
    assert frame.index == 6 and frame.source_restarted


class _MjpegHandler(BaseHTTPRequestHandler):
    """multipart/x-mixed-replace JPEG frames; connection k sends plan[k] frames then cuts; later ones 503."""

    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        server = self.server
        k = server.connections
        server.connections += 1
        n = server.plan[k] if k < len(server.plan) else 0
        if n == 0:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        for i in range(n):
            data = cv2.imencode(".jpg", _image(100 * k + 10 * i))[1].tobytes()
            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data))
            self.wfile.write(data + b"\r\n")
            self.wfile.flush()
            time.sleep(0.005)
        # returning closes the connection mid-stream: the camera "drops"


@pytest.fixture
def mjpeg_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MjpegHandler)
    server.connections = 0
    server.plan = [8, 5]
    thread = threading.Thread(target=server.serve_forever, name="mjpeg-test-server", daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_mjpeg_stream_that_drops_reconnects_then_ends_cleanly(tmp_path: Path, mjpeg_server) -> None:
    server, url = mjpeg_server
    out, annotated = tmp_path / "d.jsonl", tmp_path / "a.mp4"
    policy = ReconnectPolicy(max_tries=2, backoff_s=0.01, max_backoff_s=0.02)
    source = open_source(url, queue_size=64, reconnect=policy)  # deep queue: nothing dropped here
    engine = FakeEngine()
    t0 = time.perf_counter()
    summary = run_stream(source, engine, [JsonlSink(out, CLASSES), VideoSink(annotated, 10.0, classes=CLASSES)])
    assert time.perf_counter() - t0 < 20  # bounded back-off
    records = _lines(out)
    assert len(records) == 13 == summary.frames and count_video_frames(annotated) == 13
    assert [r["restart"] for r in records] == [False] * 8 + [True] + [False] * 4
    assert [r["detections"][0]["box"][0] for r in records] == [*range(8), *range(5)]  # state reset
    assert summary.reconnects == 1 and summary.resets == 2
    assert summary.end_reason == "reconnect_failed" and "2 reconnect tries" in summary.end_detail
    assert server.connections == 4  # the first, the comeback, two refused tries


# ---------------------------------------------------------------- sinks and signals


class _BrokenSink(Sink):
    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at, self.n = fail_at, 0

    def _write(self, frame, dets) -> None:
        if self.n == self.fail_at:
            raise OSError("disk full")
        self.n += 1

    def _release(self) -> None:
        pass


def test_a_failing_sink_still_finalises_the_others_and_the_summary(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.mp4", 8)
    out, annotated = tmp_path / "d.jsonl", tmp_path / "a.mp4"
    ended = []
    sinks = [JsonlSink(out), VideoSink(annotated, 10.0), _BrokenSink(fail_at=4)]
    with pytest.raises(OSError, match="disk full"):
        run_stream(open_source(str(video)), FakeEngine(), sinks, on_end=ended.append)
    assert len(_lines(out)) == 5 and count_video_frames(annotated) == 5  # frame 4 reached the first two sinks
    assert ended[0].end_reason == "error" and "disk full" in ended[0].end_detail and ended[0].frames == 4


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stop_signal_ends_the_run_with_every_sink_complete(tmp_path: Path, sig: int) -> None:
    video = _write_video(tmp_path / "clip.mp4", 20, step=10)
    out, annotated = tmp_path / "d.jsonl", tmp_path / "a.mp4"
    before = signal.getsignal(sig)

    class SignalInsideWrites(JsonlSink):  # the signal arrives between two sinks' writes of frame 3
        def _write(self, frame, dets) -> None:
            super()._write(frame, dets)
            if frame.index == 3:
                os.kill(os.getpid(), sig)

    summary = run_stream(open_source(str(video)), FakeEngine(),
                         [SignalInsideWrites(out), VideoSink(annotated, 10.0)])
    assert summary.interrupted and summary.stop_signal == sig and summary.end_reason == "interrupted"
    assert summary.frames == 4 == len(_lines(out)) == count_video_frames(annotated)
    assert signal.getsignal(sig) == before  # the previous handler is back


# ---------------------------------------------------------------- bad model files


def _onnx_file(path: Path, meta: dict | None) -> Path:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["image"], ["scores"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if meta is not None:
        helper.set_model_props(model, {"tsmdet": json.dumps(meta)})
    onnx.save(model, str(path))
    return path


def _meta(task: str) -> dict:
    from tsmdet.runtime import ModelMeta

    return json.loads(ModelMeta(input_size=(8, 8), classes=("a",), task=task).to_json())


def test_bad_model_files_raise_one_model_file_error_naming_the_file(tmp_path: Path) -> None:
    from tsmdet.runtime import read_onnx_meta
    from tsmdet.runtime.errors import ModelFileError
    from tsmdet.runtime.onnx_engine import OnnxEngine

    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n" * 20)
    good = _onnx_file(tmp_path / "rec.onnx", _meta("recognition"))
    truncated = tmp_path / "cut.onnx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases = {
        text: "not an ONNX model",
        truncated: "not an ONNX model",
        _onnx_file(tmp_path / "plain.onnx", None): "no 'tsmdet' metadata",
        _onnx_file(tmp_path / "odd.onnx", _meta("segmentation")): "unknown task 'segmentation'",
        tmp_path / "missing.onnx": "no such model file",
    }
    for path, problem in cases.items():
        with pytest.raises(ModelFileError, match=problem) as info:
            read_onnx_meta(str(path))
        assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    with pytest.raises(ModelFileError, match="a recognition model, but a detection model was asked for"):
        read_onnx_meta(str(good), task="detection")
    assert read_onnx_meta(str(good), task="recognition").task == "recognition"
    with pytest.raises(ModelFileError, match="graph does not match its metadata"):  # no state/outputs it names
        OnnxEngine(_onnx_file(tmp_path / "det.onnx", _meta("detection")))


def test_unsafe_checkpoint_refusal_is_one_line_naming_the_global(tmp_path: Path) -> None:
    import torch

    from tsmdet.utils.checkpoint import UnsafeCheckpointError, load_checkpoint_file

    class Planted:
        def __reduce__(self):
            return (os.getcwd, ())

    path = tmp_path / "planted.pth"
    torch.save({"state_dict": {}, "x": Planted()}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "posix.getcwd" in message
    assert "--trust-checkpoint" in message and cli.is_input_error(info.value)


# ---------------------------------------------------------------- run_tool


@pytest.mark.parametrize(
    ("raised", "code", "text"),
    [
        (None, 0, ""),
        (cli.UsageError("--model is not used by --engine torch"), 2, "error: --model is not used"),
        (FileNotFoundError("x.pth: checkpoint not found"), 2, "error: x.pth: checkpoint not found"),
        (type("EngineUnavailableError", (RuntimeError,), {})("TensorRT is not installed"), 2, "TensorRT"),
        (ZeroDivisionError("boom"), 1, "error: ZeroDivisionError: boom (run with --debug"),
        (KeyboardInterrupt(), 130, "interrupted (SIGINT)"),
        (cli.Interrupted(signal.SIGTERM), 143, "interrupted (SIGTERM)"),
        (cli.Interrupted(signal.SIGHUP), 129, "interrupted (SIGHUP)"),
    ],
)
def test_run_tool_maps_outcomes_to_the_exit_code_table(raised, code, text, capsys) -> None:
    seen = []

    def main(argv):
        seen.append(argv)
        if raised is not None:
            raise raised
        return None

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        assert cli.run_tool(main, ["a", "--debug"] if code == 1 else ["a"]) == code
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    assert seen == [["a"]]  # --debug is the wrapper's, not the tool's
    err = capsys.readouterr().err
    assert text in err
    assert ("Traceback" in err) == (code == 1)  # only with --debug, only for unexpected errors


def test_stream_arguments_are_checked_before_any_work(tmp_path: Path, monkeypatch) -> None:
    import argparse

    from tsmdet.streaming import SinkError, SourceError
    from tsmdet.streaming.cli import add_stream_arguments, check_stream_args

    parser = argparse.ArgumentParser()
    add_stream_arguments(parser)
    folder = tmp_path / "frames"
    folder.mkdir()
    with pytest.raises(SourceError, match="--loop: .*frames is a folder source"):
        check_stream_args(parser.parse_args([str(folder), "--loop"]))
    video = _write_video(tmp_path / "clip.mp4", 2)
    with pytest.raises(SinkError, match="--out-video .*: is a folder"):
        check_stream_args(parser.parse_args([str(video), "--out-video", str(folder)]))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match="--show: cannot show a window: no display"):
        check_stream_args(parser.parse_args([str(video), "--show"]))
    assert check_stream_args(parser.parse_args([str(video), "--loop"])).value == "video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "frames"]  # nothing written
