"""The latency targets: paired per-block ratios (TSM overhead, onnx speed-up, end-to-end overhead).

A ratio is the median over blocks of the per-block ratio (both sides ran back to back in
the block): on a shared VM the speed drifts by 10-20 % within seconds, more than the 5 %
a TSM overhead target resolves, and pairing cancels the drift between blocks.
"""
from __future__ import annotations

from typing import Any

from tsmdet.streaming.latency import percentiles

# Targets on a 2-core CPU (docs/deployment.md, "Latency").
TSM_OVERHEAD_MAX = 1.02  # online TSM / no-shift model-only latency, per engine (issues 11, 15)
ONNX_SPEEDUP_MIN = 1.5  # PyTorch eager / onnxruntime model-only latency, same model
E2E_OVERHEAD_MAX = 1.15  # end-to-end / model-only latency, per engine
CONTENDED_TAIL_MAX = 3.0  # p99 / p50 of model-only latency with one CPU-bound neighbour (--contend)
STREAM_SCALING_MIN = 2.0  # aggregate frames/s at the most streams / at one stream (--streams), onnx
HEADLINE_STAGE = {"model_only": "inference", "end_to_end": "end_to_end"}  # what each part's latency is


def _ratio(name: str, engine: str, num: tuple[str, str, str], den: tuple[str, str, str], op: str,
           target: float, latency: dict[str, dict]) -> dict[str, Any]:
    """``num``/``den`` = (engine, model, part). ``value``: the median over blocks of the ratio of
    the two parts' block p50s (paired: drift between blocks cancels); ``pooled``: the ratio of
    the run's p50s, for reference."""
    parts = [latency[e][m][p] for e, m, p in (num, den)]
    value = percentiles([a / b for a, b in zip(parts[0]["block_p50"], parts[1]["block_p50"])], (50.0,))[0]
    num_ms, den_ms = (part["stages"][HEADLINE_STAGE[key[2]]]["p50"] for part, key in zip(parts, (num, den)))
    return {"name": name, "engine": engine, "value": value, "op": op, "target": target,
            "passed": value <= target if op == "<=" else value >= target, "pooled": num_ms / den_ms,
            "numerator": "/".join(num), "numerator_ms": num_ms, "denominator": "/".join(den),
            "denominator_ms": den_ms}


def compute_ratios(latency: dict[str, dict]) -> list[dict[str, Any]]:
    """The three targets from one run's ``latency`` section (see :func:`_ratio`)."""
    ratios = []
    for engine in latency:
        ratios.append(_ratio("tsm_overhead", engine, (engine, "tsm", "model_only"),
                             (engine, "no_shift", "model_only"), "<=", TSM_OVERHEAD_MAX, latency))
    if "torch" in latency and "onnx" in latency:
        ratios.append(_ratio("onnx_speedup", "onnx", ("torch", "tsm", "model_only"),
                             ("onnx", "tsm", "model_only"), ">=", ONNX_SPEEDUP_MIN, latency))
    for engine in latency:
        ratios.append(_ratio("e2e_overhead", engine, (engine, "tsm", "end_to_end"),
                             (engine, "tsm", "model_only"), "<=", E2E_OVERHEAD_MAX, latency))
    for engine, per_model in latency.items():  # --contend: the tail with a neighbour, not a paired ratio
        if "contended" in per_model["tsm"]:
            ratios.append(_tail("contended_tail", engine, per_model["tsm"]["contended"]))
    return ratios


def _tail(name: str, engine: str, part: dict) -> dict[str, Any]:
    """p99 / p50 of one part's inference stage (the tail a real-time stream sees)."""
    stats = part["stages"]["inference"]
    value = stats["p99"] / stats["p50"]
    return {"name": name, "engine": engine, "value": value, "op": "<=", "target": CONTENDED_TAIL_MAX,
            "passed": value <= CONTENDED_TAIL_MAX, "pooled": stats["p90"] / stats["p50"],
            "numerator": f"{engine}/tsm/contended p99", "numerator_ms": stats["p99"],
            "denominator": f"{engine}/tsm/contended p50", "denominator_ms": stats["p50"]}


def stream_scaling(streams: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Aggregate frames/s at the largest stream count over one stream's, per engine (needs count 1)."""
    checks = []
    for engine, result in (streams or {}).items():
        if "scaling" not in result:
            continue
        most = max(result["counts"].values(), key=lambda c: c["streams"])
        value = result["scaling"][str(most["streams"])]
        checks.append({"name": "stream_scaling", "engine": engine, "streams": most["streams"], "value": value,
                       "op": ">=", "target": STREAM_SCALING_MIN, "passed": value >= STREAM_SCALING_MIN,
                       "fps": most["fps"], "fps_one": result["counts"]["1"]["fps"]})
    return checks
