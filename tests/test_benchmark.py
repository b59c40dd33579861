"""The latency benchmark: a tiny one-stage TSM model on torch + onnxruntime, 10 frames.

Checks the report's contract, not the speed: documented keys, ordered percentiles,
ratios computed from the same run's numbers, files written, and the no-shift twin
having the TSM model's parameters and FLOPs with no state. The run also has a contention
neighbour (--contend), batched streams 1 and 2 (--streams) and records thread settings
and the load per block.
"""
from __future__ import annotations

import inspect

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest

from tsmdet.apis.benchmark import compute_ratios, no_shift_model_cfg, run_benchmark
from tsmdet.apis.benchmark.contend import Neighbour
from tsmdet.apis.config import load_config
from tsmdet.runtime import available_engines

REPO = Path(__file__).resolve().parents[1]
TOP_KEYS = {"config", "checkpoint", "weights", "input_size", "video", "frames", "warmup", "block_frames",
            "threads", "environment", "models", "engines", "latency", "ratios", "files",
            "contend", "thread_settings", "load", "streams", "stream_scaling", "sessions"}
STREAM_CALLS = 3
MODEL_KEYS = {"name", "backbone", "params", "flops", "gflops", "num_states", "state_bytes_per_stream",
              "onnx"}
E2E_STAGES = {"decode", "preprocess", "inference", "postprocess", "end_to_end", "stream_start"}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    # where TensorRT is missing, asking for it only adds its reason to the report
    engines = ["torch", "onnx"] + ([] if available_engines()["trt"] else ["trt"])
    return run_benchmark(REPO / "configs/synthetic/retinanet_mbv2_tsm.py", engines=engines, frames=10,
                         warmup=2, out_dir=tmp_path_factory.mktemp("bench"), threads=1, input_size=(96, 64),
                         block_frames=5, contend=True, streams=[1, 2], stream_calls=STREAM_CALLS)


def test_report_files_and_keys(report):
    files = report["files"]
    for kind in ("json", "md", "png"):
        assert Path(files[kind]).is_file() and Path(files[kind]).stat().st_size > 0
    on_disk = json.loads(Path(files["json"]).read_text())
    assert set(on_disk) == TOP_KEYS
    assert on_disk["weights"] == "random" and on_disk["checkpoint"] is None
    assert on_disk["input_size"] == [96, 64]
    assert set(on_disk["latency"]) == {"torch", "onnx"}
    for per_model in on_disk["latency"].values():
        assert set(per_model) == {"tsm", "no_shift"}
        for result in per_model.values():
            assert set(result["model_only"]["stages"]) == {"inference"}
            assert E2E_STAGES <= set(result["end_to_end"]["stages"])
            assert result["model_only"]["frames"] == result["end_to_end"]["frames"] == 10
            assert result["model_only"]["fps"] > 0 and result["end_to_end"]["fps"] > 0
    assert "| online TSM |" in Path(files["md"]).read_text()


def test_percentiles_are_ordered(report):
    for per_model in report["latency"].values():
        for result in per_model.values():
            for part in ("model_only", "end_to_end"):
                for stats in result[part]["stages"].values():
                    assert 0 <= stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"]


def _paired(report: dict, num: tuple[str, str, str], den: tuple[str, str, str]) -> float:
    """Median over blocks of the ratio of the block p50s, recomputed from the report."""
    blocks = [report["latency"][e][m][p]["block_p50"] for e, m, p in (num, den)]
    return float(np.median([a / b for a, b in zip(*blocks)]))


def test_blocks_rotate_over_independent_sessions(report):
    """Independent instances per variant (one session's speed is not another's), used in turn; the
    default 6 is capped at the run's 2 blocks (an instance that runs no block measures nothing)."""
    from tsmdet.apis.benchmark.measure import Variant
    from tsmdet.apis.benchmark.run import run_benchmark

    assert inspect.signature(run_benchmark).parameters["sessions"].default == 6
    assert report["sessions"] == 2
    assert all(report["engines"][kind]["sessions"] == 2 for kind in ("torch", "onnx"))
    first, second = object(), object()
    variant = Variant("onnx", "tsm", [first, second])
    used = []
    for block in range(5):
        variant.use(block)
        used.append(variant.engine)
    assert used == [first, second, first, second, first]


def test_ratios_come_from_this_runs_numbers(report):
    assert report["ratios"] == compute_ratios(report["latency"])
    by_name = {(r["name"], r["engine"]): r for r in report["ratios"]}
    assert set(by_name) == {("tsm_overhead", "torch"), ("tsm_overhead", "onnx"), ("onnx_speedup", "onnx"),
                            ("e2e_overhead", "torch"), ("e2e_overhead", "onnx"),
                            ("contended_tail", "torch"), ("contended_tail", "onnx")}
    checks = {
        ("tsm_overhead", "onnx"): (("onnx", "tsm", "model_only"), ("onnx", "no_shift", "model_only")),
        ("onnx_speedup", "onnx"): (("torch", "tsm", "model_only"), ("onnx", "tsm", "model_only")),
        ("e2e_overhead", "torch"): (("torch", "tsm", "end_to_end"), ("torch", "tsm", "model_only")),
    }
    for key, (num, den) in checks.items():
        ratio = by_name[key]
        assert len(report["latency"][num[0]][num[1]][num[2]]["block_p50"]) == 2  # 10 frames, blocks of 5
        assert ratio["value"] == pytest.approx(_paired(report, num, den))
        assert ratio["pooled"] == pytest.approx(ratio["numerator_ms"] / ratio["denominator_ms"])
    headline = report["latency"]["torch"]["tsm"]["end_to_end"]["stages"]["end_to_end"]["p50"]
    assert by_name[("e2e_overhead", "torch")]["numerator_ms"] == headline
    for r in report["ratios"]:
        assert r["passed"] == (r["value"] <= r["target"] if r["op"] == "<=" else r["value"] >= r["target"])


def test_twin_has_same_params_and_flops_and_no_state(report):
    tsm, twin = report["models"]["tsm"], report["models"]["no_shift"]
    assert set(tsm) == set(twin) == MODEL_KEYS
    assert tsm["backbone"] == "TSMMobileNetV2" and twin["backbone"] == "MobileNetV2"
    assert tsm["params"] == twin["params"] > 0
    assert tsm["flops"] == twin["flops"] > 0
    assert tsm["state_bytes_per_stream"] > 0 and tsm["num_states"] > 0
    assert twin["state_bytes_per_stream"] == 0 and twin["num_states"] == 0


def test_unavailable_engine_is_reported_with_its_reason(report):
    for kind in ("torch", "onnx"):
        assert report["engines"][kind]["available"] is True
    if "trt" in report["engines"]:
        trt = report["engines"]["trt"]
        assert trt["available"] is False and "TensorRT" in trt["reason"]
        assert "trt" not in report["latency"]


def test_twin_config_matches_the_hand_written_baseline():
    """The generic twin of the synthetic R18 TSM config is the shipped 2D baseline's backbone."""
    import tsmdet.models  # noqa: F401  (registers the TSM backbones)

    tsm = load_config(REPO / "configs/synthetic/faster_rcnn_r18_tsm.py")
    baseline = load_config(REPO / "configs/synthetic/faster_rcnn_r18_baseline.py")
    twin = no_shift_model_cfg(tsm.model)
    assert dict(twin["detector"]["backbone"]) == dict(baseline.model.detector.backbone)
    assert tsm.model.detector.backbone.type == "TSMResNet"  # the input was not modified


def test_backbone_without_shift_is_refused():
    import tsmdet.models  # noqa: F401

    baseline = load_config(REPO / "configs/synthetic/faster_rcnn_r18_baseline.py")
    with pytest.raises(ValueError, match="no temporal shift"):
        no_shift_model_cfg(baseline.model)


def test_contended_blocks_and_tail_check(report):
    for engine, per_model in report["latency"].items():
        for result in per_model.values():
            contended = result["contended"]["stages"]["inference"]
            assert contended["count"] == 10  # every quiet block has its contended twin
            assert 0 < contended["p50"] <= contended["p90"] <= contended["p99"]
        tail = next(r for r in report["ratios"] if r["name"] == "contended_tail" and r["engine"] == engine)
        stats = per_model["tsm"]["contended"]["stages"]["inference"]
        assert tail["value"] == pytest.approx(stats["p99"] / stats["p50"])
        assert tail["passed"] == (tail["value"] <= tail["target"])
    assert "## Under contention" in Path(report["files"]["md"]).read_text()


def test_streams_section(report):
    assert set(report["streams"]) == {"torch", "onnx"}
    for engine, result in report["streams"].items():
        assert set(result["counts"]) == {"1", "2"}
        for key, c in result["counts"].items():
            assert c["streams"] == int(key) and c["call_ms"]["count"] == STREAM_CALLS
            assert c["fps"] == pytest.approx(1e3 * c["streams"] / c["call_ms"]["mean"])
            assert c["inference_ms"]["p50"] <= c["call_ms"]["max"]
        assert result["scaling"]["1"] == 1.0
        assert result["scaling"]["2"] == pytest.approx(result["counts"]["2"]["fps"] / result["counts"]["1"]["fps"])
    checks = {c["engine"]: c for c in report["stream_scaling"]}
    assert set(checks) == {"torch", "onnx"} and checks["onnx"]["streams"] == 2
    assert checks["onnx"]["passed"] == (checks["onnx"]["value"] >= 2.0)


def test_thread_settings_and_load_are_recorded(report):
    for kind in ("torch", "onnx"):
        assert report["thread_settings"][kind]["intra_op"] == 1  # threads=1 in the fixture
        assert report["thread_settings"][kind]["default"] is False
    assert report["thread_settings"]["onnx"]["spinning"] is False
    assert report["thread_settings"]["onnx"]["inter_op"] == 1
    load = report["load"]
    blocks = [s for s in load["samples"] if s["phase"] == "block"]
    assert [s["block"] for s in blocks] == [0, 1]  # one sample per block, not only at the start
    assert load["min"] <= load["first"] <= load["max"] and load["min"] <= load["last"] <= load["max"]
    assert load["changed"] == (load["max"] - load["min"] > load["allowed_change"])
    assert load["allowed_change"] == 2.0  # 1.0 + the neighbour's own process
    text = Path(report["files"]["md"]).read_text()
    assert "Load during the run" in text and "onnx: intra-op 1, inter-op 1, spinning off" in text


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_neighbour_burns_cpu_only_when_resumed_and_always_ends():
    with Neighbour(max_s=30) as neighbour:
        pid = neighbour.proc.pid
        time.sleep(0.1)
        paused = _cpu_ticks(pid)
        time.sleep(0.3)
        assert _cpu_ticks(pid) == paused  # SIGSTOPped: no CPU
        neighbour.resume()
        time.sleep(0.5)
        assert _cpu_ticks(pid) > paused  # spinning
        neighbour.pause()
    assert neighbour.proc.poll() is not None  # closed while paused: still ended
    bounded = Neighbour(max_s=0.2)
    bounded.resume()
    assert bounded.proc.wait(timeout=10) == 0  # exits by itself after max_s
    bounded.close()


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("benchmark_tool", REPO / "tools" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_streams_and_thread_flags(tool):
    args = tool.parse_args(["--streams", "8,1,4,2", "--contend", "--threads", "1"])
    assert args.streams == [1, 2, 4, 8] and args.contend and args.threads == 1
    for bad in ("0,1", "1,1", "a", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            tool.stream_counts(bad)
    from tsmdet.utils.cli import UsageError

    for argv in (["--engines", "trt", "--threads", "2"], ["--engines", "trt", "--streams", "1,2"],
                 ["--engines", "torch", "--spinning"], ["--stream-calls", "5"]):
        with pytest.raises(UsageError):
            tool.check_args(tool.parse_args(argv))
