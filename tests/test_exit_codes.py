"""The README's exit-code table, row by row, on real tool processes (and the argument contract).

0 done · 1 failed while running · 2 bad input or usage (one line, no traceback) ·
129 / 130 / 143 stopped by SIGHUP / SIGINT / SIGTERM with every output finalised.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tsmdet.apis.defaults import default_onnx, default_video
from tsmdet.utils.cli import run_tool

from test_reliability import _MjpegHandler, _onnx_file, _meta  # noqa: F401  (the loopback server, tiny graphs)
from video_helpers import count_video_frames

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "infer_stream.py"


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "TSMDET_DEBUG")}
    env.update(OMP_NUM_THREADS="1", **extra)
    return env


def _tool(name: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools" / name), *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _in_process(name: str, *args: str, capsys) -> subprocess.CompletedProcess:
    """The tool's ``main`` through ``run_tool`` in this process (its exit code and stderr), for the
    cases that must fail before any work: one import instead of one interpreter per case."""
    spec = importlib.util.spec_from_file_location(f"tool_{Path(name).stem}", ROOT / "tools" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        code = run_tool(module.main, list(args))
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    return subprocess.CompletedProcess(args, code, "", capsys.readouterr().err)


def _one_line_error(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, res.stderr[-3000:]
    assert "Traceback" not in res.stderr and "FATAL" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, res.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture(scope="module")
def sample() -> Path:
    default_onnx()  # exported once into the user cache, not per test process
    return default_video()


# ---------------------------------------------------------------- 2: usage and bad input


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--engine", "onnx", "--checkpoint", "Y.pth"], ["--checkpoint is not used by --engine onnx"]),
        (["--engine", "torch", "--model", "Z.onnx"], ["--model is not used by --engine torch"]),
        (["--engine", "auto", "--config", "X.py", "--checkpoint", "Y.pth"], ["--config X.py: no such file"]),
        (["--engine", "auto", "--model", "Z.onnx"], ["--model Z.onnx: no such file"]),
        (["--engine", "auto", "--model", "Z.onnx", "--checkpoint", "Y.pth"], ["two models"]),
        (["--engine", "onnx", "--url", "host:8001"], ["--url is not used by --engine onnx"]),
        (["--engine", "triton", "--model", "Z.onnx"], ["--model is not used by --engine triton"]),
        (["--trust-checkpoint"], ["--trust-checkpoint is not used by --engine auto"]),
        (["--engine", "torch", "--trust-checkpoint"], ["--trust-checkpoint needs --checkpoint"]),
        (["nope.mp4", "--engine", "onnx"], ["nope.mp4: no such file or folder"]),
    ],
)
def test_infer_stream_argument_contract(tmp_path: Path, args: list[str], needles: list[str], capsys,
                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _one_line_error(_in_process("infer_stream.py", *args, "--out-dir", str(tmp_path), capsys=capsys), *needles)
    assert not any(tmp_path.iterdir())  # refused before any work: nothing written


def test_show_without_display_is_one_line_and_writes_nothing(tmp_path: Path, sample: Path) -> None:
    res = subprocess.run([sys.executable, str(TOOL), str(sample), "--engine", "onnx", "--show",
                          "--out-dir", str(tmp_path)], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         timeout=120)
    _one_line_error(res, "--show", "no display")
    assert not any(tmp_path.iterdir())  # no empty JSONL left behind


def test_bad_model_files_are_one_line_exit_2(tmp_path: Path, sample: Path, capsys) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07 not protobuf at all " * 50)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(default_onnx().read_bytes()[:100_000])
    cases = {
        junk: "not an ONNX model",
        truncated: "not an ONNX model, or a truncated one",
        _onnx_file(tmp_path / "plain.onnx", None): "no 'tsmdet' metadata",
        _onnx_file(tmp_path / "rec.onnx", _meta("recognition")): "a recognition model, but a detection model",
    }
    args = [str(sample), "--engine", "onnx", "--task", "detection", "--out-dir", str(tmp_path / "out")]
    for path, problem in cases.items():
        _one_line_error(_in_process("infer_stream.py", *args, "--model", str(path), capsys=capsys), str(path), problem)
    res = subprocess.run([sys.executable, str(TOOL), *args, "--model", str(junk)], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=120)  # and as a real process
    _one_line_error(res, str(junk), "not an ONNX model")
    assert not (tmp_path / "out").exists()


def test_other_tools_refuse_bad_input_with_one_line(tmp_path: Path, capsys) -> None:
    _one_line_error(_tool("publish_checkpoint.py", str(tmp_path / "none.pth"), str(tmp_path / "o.pth")),
                    "none.pth: no such file")  # a real process
    _one_line_error(_in_process("benchmark.py", "--engines", "trt", "--threads", "2", capsys=capsys), "--threads")
    _one_line_error(_in_process("benchmark.py", "--checkpoint", str(tmp_path / "c.pth"), capsys=capsys),
                    "c.pth: no such file")
    _one_line_error(_in_process("probe_direction.py", "nope.py", "nope.pth", "--pair", "car", "car", capsys=capsys),
                    "--pair needs two different classes")
    _one_line_error(_in_process("demo.py", "--engine", "trt", "--out-dir", str(tmp_path / "demo"), capsys=capsys),
                    "TensorRT is not installed")
    assert not (tmp_path / "demo").exists()


# ---------------------------------------------------------------- 0 and 1


def test_exit_0_done_and_1_when_the_live_source_is_lost(tmp_path: Path) -> None:
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _MjpegHandler)
    server.connections, server.plan = 0, [6]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cam.mjpg"
        res = subprocess.run([sys.executable, str(TOOL), url, "--engine", "onnx", "--reconnect-tries", "1",
                              "--queue-size", "64",
                              "--reconnect-backoff", "0.05", "--out-jsonl", str(tmp_path / "cam.jsonl"),
                              "--out-video", str(tmp_path / "cam.mp4"), "--summary-json", str(tmp_path / "s.json")],
                             cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert res.returncode == 1, res.stderr[-3000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["end_reason"] == "reconnect_failed" and summary["frames"] == 6
    assert len((tmp_path / "cam.jsonl").read_text().splitlines()) == 6


# ---------------------------------------------------------------- 129 / 130 / 143


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signals_finalise_video_jsonl_and_summary(tmp_path: Path, sample: Path, sig: int, code: int) -> None:
    jsonl, video, summary = tmp_path / "d.jsonl", tmp_path / "a.mp4", tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, str(TOOL), str(sample), "--engine", "onnx", "--loop",
                             "--out-jsonl", str(jsonl), "--out-video", str(video), "--summary-json", str(summary)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (jsonl.is_file() and jsonl.read_text().count("\n") >= 5):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err[-3000:]
    assert "Traceback" not in err
    text = jsonl.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]  # every line complete
    result = json.loads(summary.read_text())
    assert result["interrupted"] and result["stop_signal"] == sig and result["end_reason"] == "interrupted"
    assert len(lines) >= 5 and result["frames"] == len(lines) == count_video_frames(video)
