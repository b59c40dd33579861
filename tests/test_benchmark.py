"""The latency benchmark: a tiny one-stage TSM model on torch + onnxruntime, 10 frames.

Checks the report's contract, not the speed: documented keys, ordered percentiles,
ratios computed from the same run's numbers, files written, and the no-shift twin
having the TSM model's parameters and FLOPs with no state.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tsmdet.apis.benchmark import compute_ratios, no_shift_model_cfg, run_benchmark
from tsmdet.apis.config import load_config
from tsmdet.runtime import available_engines

REPO = Path(__file__).resolve().parents[1]
TOP_KEYS = {"config", "checkpoint", "weights", "input_size", "video", "frames", "warmup", "block_frames",
            "threads", "environment", "models", "engines", "latency", "ratios", "files"}
MODEL_KEYS = {"name", "backbone", "params", "flops", "gflops", "num_states", "state_bytes_per_stream",
              "onnx"}
E2E_STAGES = {"decode", "preprocess", "inference", "postprocess", "end_to_end", "stream_start"}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    # where TensorRT is missing, asking for it only adds its reason to the report
    engines = ["torch", "onnx"] + ([] if available_engines()["trt"] else ["trt"])
    return run_benchmark(REPO / "configs/synthetic/retinanet_mbv2_tsm.py", engines=engines, frames=10,
                         warmup=2, out_dir=tmp_path_factory.mktemp("bench"), threads=1, input_size=(96, 64),
                         block_frames=5)


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


def test_ratios_come_from_this_runs_numbers(report):
    assert report["ratios"] == compute_ratios(report["latency"])
    by_name = {(r["name"], r["engine"]): r for r in report["ratios"]}
    assert set(by_name) == {("tsm_overhead", "torch"), ("tsm_overhead", "onnx"), ("onnx_speedup", "onnx"),
                            ("e2e_overhead", "torch"), ("e2e_overhead", "onnx")}
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
