"""Load test of a Triton-served model: N concurrent streams, throughput, latency, server batches, correctness.

For each stream count N, N client threads (one :class:`TritonEngine` and one correlation ID
each, like N cameras) send their frames in a closed loop: the next frame as soon as the
previous result is back. Stream ``i`` sees the frames of the sample video from offset
``i * stride`` on, so every stream's sequence differs and a server that mixed two streams'
caches would give different results. Checks, all against a local single-stream
onnxruntime run of the same frames (zero mismatches expected):

* every frame of every stream equals the local run (no state mixing across streams);
* START resets: a stream reset mid-way gives the local run's results from a fresh state;
* TTL eviction: a stream left open is dropped by the server after its TTL (the Python
  model's live-stream count falls, and the stream's next request is refused).

The batch sizes the server formed come from Triton's statistics endpoint (per-execution
``batch_stats``), as the difference between the counts before and after each level.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsmdet.runtime import EngineUnavailableError
from tsmdet.runtime.triton_engine import TritonEngine, TritonServerError
from tsmdet.streaming.latency import percentiles

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadTestOptions:
    url: str = "localhost:8001"
    model_name: str = "tsmdet"
    streams: tuple[int, ...] = (1, 4, 8, 16)
    frames: int = 24  # per stream and level
    stride: int = 5  # stream i starts at video frame i * stride
    max_level_s: float = 120.0  # a level stops sending new frames after this long
    ttl_check: bool = True
    atol: float = 1e-3  # boxes in pixels and scores; labels and counts must be equal


@dataclass
class LevelReport:
    streams: int
    frames: int
    seconds: float
    fps: float
    latency_ms: dict[str, float]
    server_batches: dict[str, int]  # batch size -> executions
    mean_server_batch: float
    mismatches: int
    errors: list[str] = field(default_factory=list)


def results_equal(a: Any, b: Any, atol: float) -> bool:
    """Same result type and fields: arrays equal in shape and within ``atol``, integers exactly."""
    if type(a) is not type(b):
        return False
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if x.shape != y.shape:
                return False
            if np.issubdtype(x.dtype, np.integer):
                if not np.array_equal(x, y):
                    return False
            elif not np.allclose(x, y, atol=atol, rtol=0):
                return False
        elif x != y:
            return False
    return True


def stream_frames(video: Sequence[np.ndarray], stream: int, count: int, stride: int) -> list[np.ndarray]:
    """Frames of stream ``stream``: the video from offset ``stream * stride``, wrapping around."""
    return [video[(stream * stride + t) % len(video)] for t in range(count)]


class Reference:
    """Local single-stream onnxruntime results per stream, computed once and cached."""

    def __init__(self, onnx_path: str | Path, video: Sequence[np.ndarray], opts: LoadTestOptions) -> None:
        from tsmdet.runtime.onnx_engine import OnnxEngine

        self.engine = OnnxEngine(onnx_path, num_streams=1)
        self.video, self.opts = video, opts
        self._cache: dict[int, list[Any]] = {}

    def run(self, frames: Sequence[np.ndarray]) -> list[Any]:
        self.engine.reset(0)
        return [self.engine.infer([f], [0])[0] for f in frames]

    def of_stream(self, stream: int) -> list[Any]:
        if stream not in self._cache:
            self._cache[stream] = self.run(
                stream_frames(self.video, stream, self.opts.frames, self.opts.stride)
            )
        return self._cache[stream]


def batch_counts(client: Any, model_name: str) -> dict[int, int]:
    """Executions per batch size so far (Triton statistics, summed over versions)."""
    stats = client.get_inference_statistics(model_name, as_json=True)
    counts: dict[int, int] = {}
    for model in stats.get("model_stats", []):
        for entry in model.get("batch_stats", []):
            size = int(entry["batch_size"])
            counts[size] = counts.get(size, 0) + int(entry["compute_infer"]["count"])
    return counts


def _client_thread(
    opts: LoadTestOptions,
    frames: list[np.ndarray],
    deadline: float,
    barrier: threading.Barrier,
    out: dict[str, Any],
) -> None:
    try:
        engine = TritonEngine(opts.url, opts.model_name)
    except (TritonServerError, EngineUnavailableError) as exc:  # reported; the others must still start
        out["error"] = f"{type(exc).__name__}: {exc}"
        barrier.wait()
        return
    results, latencies = [], []
    try:
        barrier.wait()
        for frame in frames:
            if time.monotonic() > deadline:
                break
            t0 = time.perf_counter()
            results.append(engine.infer([frame], [0])[0])
            latencies.append(1e3 * (time.perf_counter() - t0))
    except TritonServerError as exc:
        out["error"] = str(exc)
    finally:
        engine.close()
    out.update(results=results, latencies=latencies)


def run_level(
    n: int, opts: LoadTestOptions, video: Sequence[np.ndarray], reference: Reference, stats_client: Any
) -> LevelReport:
    """N concurrent streams, each ``opts.frames`` frames; compared frame by frame with the reference."""
    before = batch_counts(stats_client, opts.model_name)
    outs: list[dict[str, Any]] = [{} for _ in range(n)]
    barrier = threading.Barrier(n + 1)
    deadline = time.monotonic() + opts.max_level_s
    threads = [
        threading.Thread(
            target=_client_thread,
            name=f"stream-{i}",
            daemon=True,
            args=(opts, stream_frames(video, i, opts.frames, opts.stride), deadline, barrier, outs[i]),
        )
        for i in range(n)
    ]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    after = batch_counts(stats_client, opts.model_name)
    batches = {
        str(k): after.get(k, 0) - before.get(k, 0)
        for k in sorted(after)
        if after.get(k, 0) > before.get(k, 0)
    }
    executions = sum(batches.values())
    mismatches, frames, errors, latencies = 0, 0, [], []
    for i, out in enumerate(outs):
        if "error" in out:
            errors.append(f"stream {i}: {out['error']}")
        got = out.get("results", [])
        want = reference.of_stream(i)[: len(got)]
        mismatches += sum(not results_equal(g, w, opts.atol) for g, w in zip(got, want))
        frames += len(got)
        latencies += out.get("latencies", [])
    p50, p90, p99 = percentiles(latencies, (50, 90, 99)) if latencies else (float("nan"),) * 3
    report = LevelReport(
        streams=n,
        frames=frames,
        seconds=round(seconds, 3),
        fps=round(frames / seconds, 2) if seconds else 0.0,
        latency_ms={"p50": round(p50, 2), "p90": round(p90, 2), "p99": round(p99, 2)},
        server_batches=batches,
        mean_server_batch=round(sum(int(k) * v for k, v in batches.items()) / executions, 2)
        if executions
        else 0.0,
        mismatches=mismatches,
        errors=errors,
    )
    logger.info(
        "%2d streams: %d frames in %.1f s = %.1f frames/s, p50 %.1f p99 %.1f ms, mean server batch %.2f, "
        "%d mismatches",
        n,
        frames,
        seconds,
        report.fps,
        p50,
        p99,
        report.mean_server_batch,
        mismatches,
    )
    return report


def check_start_reset(
    opts: LoadTestOptions, video: Sequence[np.ndarray], reference: Reference
) -> dict[str, Any]:
    """Run a stream k frames, reset it (START on the next frame), run the first k frames again."""
    frames = stream_frames(video, 0, min(6, opts.frames), opts.stride)
    want = reference.of_stream(0)[: len(frames)]
    with TritonEngine(opts.url, opts.model_name) as engine:
        first = [engine.infer([f], [0])[0] for f in frames]
        engine.reset(0)
        again = [engine.infer([f], [0])[0] for f in frames]
    continued = reference.run(frames + frames)[len(frames) :]  # what the second pass would be WITHOUT a reset
    return {
        "frames": len(frames),
        "first_pass_equal": all(results_equal(a, b, opts.atol) for a, b in zip(first, want)),
        "after_reset_equal": all(results_equal(a, b, opts.atol) for a, b in zip(again, want)),
        # the check has teeth only if keeping the caches would have changed the results
        "state_matters": not all(results_equal(a, b, opts.atol) for a, b in zip(continued, want)),
    }


def check_ttl(
    opts: LoadTestOptions, video: Sequence[np.ndarray], ttl_s: float, state_bytes: int
) -> dict[str, Any]:
    """Leave a stream open past the TTL: the server must drop its caches and refuse its next frame."""
    frames = stream_frames(video, 1, 3, opts.stride)
    idle = TritonEngine(opts.url, opts.model_name)
    probe = TritonEngine(opts.url, opts.model_name)
    try:
        for f in frames[:2]:
            idle.infer([f], [0])
        probe.infer([frames[0]], [0])
        live_before = probe.server_streams
        time.sleep(ttl_s + 1.5)
        probe.reset(0)  # a fresh start for the probe: its own caches are gone too
        probe.infer([frames[0]], [0])
        live_after = probe.server_streams
        try:
            idle.infer([frames[2]], [0])
            refused = ""
        except TritonServerError as exc:
            refused = str(exc)
    finally:
        idle.close()
        probe.close()
    return {
        "ttl_s": ttl_s,
        "live_streams_before": live_before,
        "live_streams_after": live_after,
        "state_bytes_before": None if live_before is None else live_before * state_bytes,
        "state_bytes_after": None if live_after is None else live_after * state_bytes,
        "evicted_stream_refused": bool(refused),
        "refusal": refused,
    }


def warm_up(opts: LoadTestOptions, video: Sequence[np.ndarray], frames: int = 3) -> None:
    """A few frames before the first level, so session and connection set-up are not measured."""
    with TritonEngine(opts.url, opts.model_name) as engine:
        for frame in stream_frames(video, 0, frames, opts.stride):
            engine.infer([frame], [0])


def run_load_test(
    opts: LoadTestOptions, onnx_path: str | Path, video: Sequence[np.ndarray]
) -> dict[str, Any]:
    """Every level, then the START and TTL checks; a JSON-ready report."""
    import tritonclient.grpc as grpcclient

    from tsmdet.serving.repository import SHA_PARAM, sha256_file

    TritonEngine(opts.url, opts.model_name).close()  # one clear error for a missing server or model, up front
    stats_client = grpcclient.InferenceServerClient(opts.url)
    try:
        config = stats_client.get_model_config(opts.model_name, as_json=True)["config"]
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        served = params.get(SHA_PARAM)
        if served and served != sha256_file(Path(onnx_path)):
            raise ValueError(
                f"{onnx_path} is not the model the server runs (sha256 differs): pass the served ONNX"
            )
        idle_us = int(config.get("sequence_batching", {}).get("max_sequence_idle_microseconds", 0))
        ttl_s = float(params["ttl_s"]) if "ttl_s" in params else idle_us / 1e6
        reference = Reference(onnx_path, video, opts)
        warm_up(opts, video)
        levels = [run_level(n, opts, video, reference, stats_client) for n in opts.streams]
        start = check_start_reset(opts, video, reference)
        ttl = (
            check_ttl(opts, video, ttl_s, reference.engine.meta.state_bytes_per_stream)
            if opts.ttl_check
            else None
        )
    finally:
        stats_client.close()
    mismatches = sum(level.mismatches for level in levels)
    ok = (
        mismatches == 0
        and not any(level.errors for level in levels)
        and start["first_pass_equal"]
        and start["after_reset_equal"]
        and (
            ttl is None
            or (
                ttl["evicted_stream_refused"]
                and (
                    ttl["live_streams_after"] is None
                    or ttl["live_streams_after"] < ttl["live_streams_before"]
                )
            )
        )
    )
    return {
        "url": opts.url,
        "model": opts.model_name,
        "onnx": str(onnx_path),
        "frames_per_stream": opts.frames,
        "levels": [dataclasses.asdict(level) for level in levels],
        "total_mismatches": mismatches,
        "start_reset": start,
        "ttl_eviction": ttl,
        "ok": ok,
    }
