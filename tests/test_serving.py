"""Stateful multi-stream serving through a real tritonserver (Python backend, sequence batcher) on loopback.

Reference for every stream: a local single-stream onnxruntime run of the same frames
(``OnnxEngine``, tested against the torch module in test_runtime.py). A server that mixed
two streams' caches, ignored START, or batched states in the wrong order would differ.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from serving_fixtures import (  # noqa: F401  (fixtures)
    TTL_S,
    toy_onnx,
    toy_recognizer_onnx,
    toy_static_onnx,
    triton_install,
    triton_server,
    video_frames,
)

from tsmdet.runtime.onnx_engine import OnnxEngine

pytestmark = pytest.mark.triton
pytest.importorskip("tritonclient.grpc", reason="tritonclient[grpc] is in requirements/pins.txt")

from tsmdet.runtime.triton_engine import TritonEngine, TritonServerError, TritonUnavailableError

REPO = Path(__file__).resolve().parents[1]


def local_run(onnx_path, frames, reset_at: tuple[int, ...] = ()) -> list:
    engine = OnnxEngine(onnx_path, num_streams=1, intra_op_threads=1)
    out = []
    for t, frame in enumerate(frames):
        if t == 0 or t in reset_at:
            engine.reset(0)
        out.append(engine.infer([frame], [0])[0])
    return out


def same(a, b) -> bool:
    return (
        a.scores.shape == b.scores.shape
        and np.array_equal(a.labels, b.labels)
        and np.allclose(a.boxes, b.boxes, atol=1e-4)
        and np.allclose(a.scores, b.scores, atol=1e-5)
    )


def served_batches(server) -> dict[int, int]:
    import tritonclient.grpc as grpcclient

    from tsmdet.serving.load_test import batch_counts

    with grpcclient.InferenceServerClient(server.grpc_url) as client:
        return batch_counts(client, "tsmdet")


def test_interleaved_streams_match_local_runs(triton_server, toy_onnx):  # noqa: F811
    """5 streams over two engines (two "processes"), interleaved with changing subsets per call."""
    steps = 10
    frames = {s: video_frames(seed=10 + s, n=steps) for s in range(5)}
    before = served_batches(triton_server)
    a = TritonEngine(triton_server.grpc_url, num_streams=3)
    b = TritonEngine(triton_server.grpc_url, num_streams=2)
    got: dict[int, list] = {s: [] for s in range(5)}
    with a, b:
        ids = [slot[0].corrid for slot in a._slots + b._slots]
        assert len(set(ids)) == 5  # one correlation ID per stream, none shared across engines
        rnd = 0
        while any(len(got[s]) < steps for s in range(5)):
            # each call sends a changing subset of an engine's streams, at different frame indices
            for engine, offset in ((a, 0), (b, 3)):
                streams = [
                    i
                    for i in range(engine.num_streams)
                    if len(got[offset + i]) < steps and (rnd + offset + i) % 3 != 0
                ]
                if streams:
                    results = engine.infer(
                        [frames[offset + i][len(got[offset + i])] for i in streams], streams
                    )
                    for i, r in zip(streams, results):
                        got[offset + i].append(r)
            rnd += 1
    for s in range(5):
        want = local_run(toy_onnx, frames[s])
        assert len(got[s]) == steps
        assert all(same(g, w) for g, w in zip(got[s], want)), f"stream {s} differs from its local run"
    # the check has teeth: without the caches (reset every frame) the results change
    stateless = local_run(toy_onnx, frames[0], reset_at=tuple(range(steps)))
    assert not all(same(g, w) for g, w in zip(got[0], stateless))
    after = served_batches(triton_server)
    assert any(size > 1 and after.get(size, 0) > before.get(size, 0) for size in after), (
        f"the server never batched streams together: {before} -> {after}"
    )


def test_static_batch_graph_serves_streams_one_call_each(triton_server, toy_static_onnx):  # noqa: F811
    frames = {s: video_frames(seed=20 + s, n=5) for s in range(3)}
    with TritonEngine(triton_server.grpc_url, model_name="toy_static", num_streams=3) as engine:
        got = {s: [] for s in range(3)}
        for t in range(5):
            streams = [s for s in range(3) if (t + s) % 2 == 0 or t == 4]
            for s, r in zip(streams, engine.infer([frames[s][len(got[s])] for s in streams], streams)):
                got[s].append(r)
    for s in range(3):
        want = local_run(toy_static_onnx, frames[s])
        assert got[s] and all(same(g, w) for g, w in zip(got[s], want)), f"stream {s}"


def test_recognizer_is_served_by_the_same_repository_code(triton_server, toy_recognizer_onnx):  # noqa: F811
    from tsmdet.runtime import Classification

    frames = {s: video_frames(seed=30 + s, n=6) for s in range(2)}
    with TritonEngine(triton_server.grpc_url, model_name="toy_rec", num_streams=2) as engine:
        got = [engine.infer([frames[0][t], frames[1][t]], [0, 1]) for t in range(6)]
    for s in range(2):
        local = OnnxEngine(toy_recognizer_onnx, num_streams=1, intra_op_threads=1)
        local.reset(0)
        want = [local.infer([f], [0])[0] for f in frames[s]]
        for t in range(6):
            assert isinstance(got[t][s], Classification)
            np.testing.assert_allclose(got[t][s].scores, want[t].scores, atol=1e-6)
    stateless = OnnxEngine(toy_recognizer_onnx, num_streams=1)
    first = stateless.infer([frames[0][3]], [0])[
        0
    ]  # frame 3 from zero caches differs from the stream's frame 3
    assert not np.allclose(first.scores, got[3][0].scores, atol=1e-6)


def test_start_mid_stream_resets_the_caches(triton_server, toy_onnx):  # noqa: F811
    frames = video_frames(seed=3, n=8)
    with TritonEngine(triton_server.grpc_url) as engine:
        got = [engine.infer([f], [0])[0] for f in frames[:5]]
        engine.reset(0)  # next frame carries START (same correlation ID)
        got += [engine.infer([f], [0])[0] for f in frames[5:]]
    want = local_run(toy_onnx, frames, reset_at=(5,))
    assert all(same(g, w) for g, w in zip(got, want))
    continued = local_run(toy_onnx, frames)  # what ignoring START would give
    assert not all(same(g, w) for g, w in zip(got[5:], continued[5:]))


def test_stream_left_open_is_evicted_after_the_ttl(triton_server):  # noqa: F811
    frames = video_frames(seed=4, n=3)
    idle = TritonEngine(triton_server.grpc_url)
    probe = TritonEngine(triton_server.grpc_url)
    try:
        idle.infer([frames[0]], [0])
        probe.infer([frames[0]], [0])
        live_before = probe.server_streams
        assert live_before >= 2
        time.sleep(TTL_S + 1.5)
        probe.reset(0)
        probe.infer([frames[1]], [0])
        assert probe.server_streams == 1  # the idle stream's caches (and the probe's old ones) are gone
        with pytest.raises(TritonServerError, match="START"):
            idle.infer([frames[1]], [0])
        idle.reset(0)  # a client that resets gets a fresh stream again
        idle.infer([frames[2]], [0])
        assert idle.server_streams == 2
    finally:
        idle.close()
        probe.close()


def test_end_on_close_frees_the_caches(triton_server):  # noqa: F811
    frames = video_frames(seed=5, n=2)
    probe = TritonEngine(triton_server.grpc_url)
    with probe:
        probe.infer([frames[0]], [0])
        base = probe.server_streams
        with TritonEngine(triton_server.grpc_url, num_streams=2) as other:
            other.infer(frames, [0, 1])
            assert other.server_streams == base + 2
        probe.infer([frames[1]], [0])
        assert probe.server_streams == base  # END on close dropped both streams at once, no TTL wait


def test_wrong_shape_and_unknown_model_are_clear_errors(triton_server):  # noqa: F811
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with grpcclient.InferenceServerClient(triton_server.grpc_url) as client:
        inp = grpcclient.InferInput("image", [1, 3, 10, 10], "FP32")
        inp.set_data_from_numpy(np.zeros((1, 3, 10, 10), np.float32))
        with pytest.raises(
            InferenceServerException, match=r"unexpected shape for input 'image'.*Expected \[-1,3,32,48\]"
        ):
            client.infer("tsmdet", [inp], sequence_id=12345, sequence_start=True)
    with pytest.raises(TritonUnavailableError, match=f"{triton_server.grpc_url} does not serve model 'nope'"):
        TritonEngine(triton_server.grpc_url, model_name="nope")


def test_load_test_reports_batches_and_no_mismatches(triton_server, toy_onnx, tmp_path):  # noqa: F811
    from tsmdet.serving.load_test import LoadTestOptions, run_load_test
    from tsmdet.serving.report import format_table, plot_report

    video = video_frames(seed=7, n=30)
    opts = LoadTestOptions(url=triton_server.grpc_url, streams=(1, 4), frames=6, stride=3, ttl_check=False)
    report = run_load_test(opts, toy_onnx, video)
    assert report["ok"] and report["total_mismatches"] == 0
    assert [lv["streams"] for lv in report["levels"]] == [1, 4]
    assert [lv["frames"] for lv in report["levels"]] == [6, 24]
    assert report["levels"][0]["server_batches"] == {"1": 7}  # one stream: 6 frames + the END sent on close
    assert report["start_reset"]["after_reset_equal"] and report["start_reset"]["state_matters"]
    json.dumps(report)
    assert plot_report(report, tmp_path / "plot.png").stat().st_size > 1000
    assert "| 4 | 24 |" in format_table(report)


def _tool(*args, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        **kw,
    )


def _write_video(path: Path, seed: int, n: int = 8) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (60, 40))
    for frame in video_frames(seed=seed, n=n):
        writer.write(frame)
    writer.release()
    return path


def test_two_infer_stream_processes_match_onnx(triton_server, toy_onnx, tmp_path):  # noqa: F811
    """Two client processes at once against one server: each one's JSONL equals its --engine onnx run."""
    videos = [_write_video(tmp_path / f"cam{i}.mp4", seed=8 + i) for i in range(2)]
    procs = {}
    for engine in ("onnx", "triton"):
        for i, video in enumerate(videos):
            procs[engine, i] = subprocess.Popen(
                [
                    sys.executable,
                    "tools/infer_stream.py",
                    str(video),
                    "--engine",
                    engine,
                    # each engine gets only its own flag (infer_stream refuses one it would ignore)
                    *(["--model", str(toy_onnx)] if engine == "onnx" else ["--url", triton_server.grpc_url]),
                    "--out-dir",
                    str(tmp_path / engine),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
    for (engine, i), proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    for i in range(2):
        lines = {
            engine: [
                json.loads(x) for x in (tmp_path / engine / f"cam{i}.{engine}.jsonl").read_text().splitlines()
            ]
            for engine in ("onnx", "triton")
        }
        assert len(lines["triton"]) == 8
        assert [x["detections"] for x in lines["triton"]] == [x["detections"] for x in lines["onnx"]]
    assert lines["triton"] != [
        json.loads(x) for x in (tmp_path / "triton" / "cam0.triton.jsonl").read_text().splitlines()
    ]


def test_serve_tool_prints_the_url_and_stops_on_sigterm(toy_onnx, triton_install, tmp_path):  # noqa: F811
    from tsmdet.serving.launcher import free_port

    grpc, http, metrics = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "tools/serve.py",
            str(toy_onnx),
            "--repo",
            str(tmp_path / "repo"),
            "--start",
            "--grpc-port",
            str(grpc),
            "--http-port",
            str(http),
            "--metrics-port",
            str(metrics),
            "--log-file",
            str(tmp_path / "server.log"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == f"serving tsmdet at grpc://127.0.0.1:{grpc} (Ctrl-C stops)"
        with TritonEngine(f"127.0.0.1:{grpc}") as engine:  # really serving
            assert len(engine.infer(video_frames(seed=1, n=1), [0])) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.terminate()  # serve.py stops its server on SIGTERM
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    with socket.socket() as taken:  # a port in use: one clear line, exit 2
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = _tool(
            "tools/serve.py",
            str(toy_onnx),
            "--repo",
            str(tmp_path / "repo2"),
            "--start",
            "--grpc-port",
            str(port),
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
        )
    assert res.returncode == 2 and f"gRPC port {port} on 127.0.0.1 is already in use" in res.stderr
    res = _tool(
        "tools/serve.py",
        str(toy_onnx),
        "--repo",
        str(tmp_path / "repo3"),
        "--start",
        env={"TSMDET_TRITON_ENV": str(tmp_path / "no-env")},
    )
    assert res.returncode == 2 and "no tritonserver in" in res.stderr and "setup_triton.sh" in res.stderr
