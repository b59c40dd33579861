"""Batched streams (``--streams 1,2,4,8``): one engine, B streams per graph call, each with its own state.

Why: a server with several cameras runs one model; batching B streams into one call
amortises the per-call overhead (operator dispatch, thread-pool wake-ups, small-kernel
inefficiency) across B frames. Each stream keeps its own shift state
(:meth:`Engine.new_state` per stream, :meth:`Engine.run` with all B states), so batching
cannot mix their caches. The exported model needs a dynamic batch axis for this (the
benchmark exports both models with one).

Per stream count B: ``call_ms`` (one ``Engine.run`` of B frames: letterbox + graph +
postprocess; every stream's frame waits for the whole call, so it is also the per-stream
latency), ``inference_ms`` (the graph call alone) and the aggregate frames/s =
B * 1000 / mean call ms. The counts run in interleaved blocks (order reversed every other
block) like the variants, so drift hits every count alike; ``scaling`` is each count's
aggregate frames/s over one stream's, from the same run.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from tsmdet.runtime import Engine
from tsmdet.streaming import percentiles

logger = logging.getLogger(__name__)

STREAM_WARMUP_CALLS = 2  # unmeasured calls per count at the start of each block (new B: new shapes)


def _stats(samples: list[float]) -> dict[str, float]:
    p50, p90, p99 = percentiles(samples, (50.0, 90.0, 99.0))
    return {"count": len(samples), "mean": float(np.mean(samples)), "p50": p50, "p90": p90, "p99": p99,
            "max": float(max(samples))}


def measure_streams(engine: Engine, decoded: list[np.ndarray], counts: list[int], calls: int,
                    block_calls: int) -> dict[str, Any]:
    """``calls`` measured calls per stream count, in interleaved blocks of ``block_calls``.

    Stream k of B sees the decoded frames from offset 7k on (different images per stream,
    same work per call for every B). Returns {``counts``: {B: {call_ms, inference_ms,
    per_frame_ms, fps}}, ``scaling``: {B: fps(B) / fps(1)}} (scaling only when 1 is a count).
    """
    if engine.meta.batch_size != -1 and any(b > 1 for b in counts):
        raise ValueError("the model has a static batch: export it with a dynamic batch axis for --streams")
    n = len(decoded)
    call_ms: dict[int, list[float]] = {b: [] for b in counts}
    infer_ms: dict[int, list[float]] = {b: [] for b in counts}
    states = {b: [engine.new_state() for _ in range(b)] for b in counts}
    steps = {b: 0 for b in counts}
    blocks = -(-calls // block_calls)
    for block in range(blocks):
        todo = min(block_calls, calls - block * block_calls)
        for b in counts if block % 2 == 0 else counts[::-1]:
            for i in range(STREAM_WARMUP_CALLS + todo):
                frames = [decoded[(steps[b] + 7 * k) % n] for k in range(b)]
                t0 = time.perf_counter()
                _, states[b] = engine.run(frames, states[b])
                ms = 1e3 * (time.perf_counter() - t0)
                steps[b] += 1
                if i >= STREAM_WARMUP_CALLS:
                    call_ms[b].append(ms)
                    infer_ms[b].append(engine.last_times.inference)
        logger.info("streams block %d/%d done", block + 1, blocks)
    result: dict[str, Any] = {"counts": {}}
    for b in counts:
        call = _stats(call_ms[b])
        result["counts"][str(b)] = {"streams": b, "call_ms": call, "inference_ms": _stats(infer_ms[b]),
                                    "per_frame_ms": call["mean"] / b, "fps": 1e3 * b / call["mean"]}
    if 1 in counts:
        one = result["counts"]["1"]["fps"]
        result["scaling"] = {str(b): result["counts"][str(b)]["fps"] / one for b in counts}
    return result
