"""tools/eval_engine.py on a tiny synthetic set: the VID report of a deployed engine, torch vs onnxruntime.

Two short synthetic videos (160x120) and the shipped checkpoint: the torch engine (the exporter's
deploy module) and onnxruntime on its ONNX export must give the same detections and the same
report; the report has the structure tools/test.py writes; the state is reset at each video
start (video 2 alone gives the detections it gets after video 1). The full val-set comparison
with tools/test.py is in docs/deployment.md (a few videos are too noisy for the 0.3 AP50 goal).
"""
from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from tsmdet.apis.defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG
from tsmdet.apis.eval_engine import evaluate_engine, subset_gt, video_frames
from tsmdet.datasets.imagenet_vid import convert_to_file
from tsmdet.datasets.synthetic import generate_synthetic_vid
from tsmdet.deploy.export import export_deploy_model, load_deploy_model
from tsmdet.deploy.verify import pair_detections
from tsmdet.evaluation.vid_metric import MOTION_BUCKETS
from tsmdet.runtime import create_engine

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("vid")
    generate_synthetic_vid(root / "data", seed=3, train_videos=0, val_videos=2, frames=6, mp4=0)
    ann = root / "data" / "annotations" / "val.json"
    convert_to_file(root / "data", "val", ann, workers=1, progress=False)
    module, meta = load_deploy_model(DEFAULT_CONFIG, DEFAULT_CHECKPOINT)
    onnx_path = root / "model.onnx"
    export_deploy_model(module, meta, onnx_path, verify=False)
    return dict(root=root, data=root / "data", ann=ann, module=module, meta=meta, onnx=onnx_path)


@pytest.fixture(scope="module")
def reports(tiny) -> dict:
    out = {}
    for kind, model in (("torch", tiny["module"]), ("onnx", tiny["onnx"])):
        engine = create_engine(kind, model, **({"meta": tiny["meta"]} if kind == "torch" else {}))
        out[kind] = evaluate_engine(engine, tiny["ann"], tiny["data"], tiny["root"] / kind / "REPORT.json",
                                    progress=False)
    return out


def _by_image(path: Path) -> dict[int, tuple[np.ndarray, ...]]:
    rows = defaultdict(list)
    for d in json.loads(path.read_text()):
        rows[d["image_id"]].append(d)
    out = {}
    for image_id, dets in rows.items():
        xywh = np.array([d["bbox"] for d in dets], np.float32)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        out[image_id] = (boxes, np.array([d["score"] for d in dets], np.float32),
                         np.array([d["category_id"] for d in dets]))
    return out


def test_report_has_the_tools_test_structure(reports, tiny):
    result = reports["onnx"]
    report = json.loads(result.report_path.read_text())
    for key in ("ap", "ap50", "devkit_map", *(f"ap50_{s}" for s in MOTION_BUCKETS), "num_images", "num_gt",
                "num_dets", "per_class"):
        assert key in report, key
    assert set(tiny["meta"].classes) <= set(report["per_class"])  # the GT lists all 30 VID categories
    assert report["num_images"] == 12 and result.frames == 12 and result.videos == 2
    assert report["ap50"] is not None and report["ap50"] > 0.3  # the shipped model detects on its own data
    assert report["engine"]["precision"] == "fp32" and report["engine"]["kind"] == "OnnxEngine"
    assert result.markdown_path.read_text().startswith("# ImageNet VID evaluation")
    dets = json.loads(result.detections_path.read_text())
    assert dets and set(dets[0]) == {"image_id", "category_id", "bbox", "score"}


def test_torch_and_onnx_agree(reports):
    torch_dets, onnx_dets = (_by_image(reports[k].detections_path) for k in ("torch", "onnx"))
    assert set(torch_dets) == set(onnx_dets)
    for image_id, ref in torch_dets.items():
        match = pair_detections(ref, onnx_dets[image_id], iou_thr=0.99, box_atol=0.05)
        assert match.unmatched <= max(1, 0.02 * match.num_a), (image_id, match)
        assert match.max_score_diff < 1e-3
    a, b = reports["torch"].report, reports["onnx"].report
    assert abs(a["ap50"] - b["ap50"]) < 0.005 and abs(a["devkit_map"] - b["devkit_map"]) < 0.005


def test_state_is_reset_at_each_video(reports, tiny):
    """Video 2 evaluated alone (fresh state) gets the detections it got after video 1."""
    gt = json.loads(tiny["ann"].read_text())
    second = video_frames(gt)[1:]
    alone = tiny["root"] / "second.json"
    alone.write_text(json.dumps(subset_gt(gt, second)))
    engine = create_engine("onnx", tiny["onnx"])
    result = evaluate_engine(engine, alone, tiny["data"], tiny["root"] / "second" / "REPORT.json", progress=False)
    full, only = _by_image(reports["onnx"].detections_path), _by_image(result.detections_path)
    ids = {int(im["id"]) for _, images in second for im in images}
    assert ids and set(only) == {i for i in full if i in ids}
    for image_id in only:
        np.testing.assert_array_equal(only[image_id][0], full[image_id][0])


def test_max_videos_cuts_the_ground_truth(tiny):
    engine = create_engine("onnx", tiny["onnx"])
    result = evaluate_engine(engine, tiny["ann"], tiny["data"], tiny["root"] / "one" / "REPORT.json",
                             max_videos=1, progress=False)
    assert result.videos == 1 and result.report["num_images"] == 6


def test_cli_bad_inputs(tiny, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("eval_engine_tool", REPO / "tools" / "eval_engine.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    base = ["--ann", str(tiny["ann"]), "--data-root", str(tiny["data"]), "--out", str(tmp_path / "r.json")]
    assert tool.main([str(tmp_path / "missing.onnx"), "--engine", "onnx", *base]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert tool.main(["--engine", "torch", *base]) == 2
    assert "needs --config" in capsys.readouterr().err
    assert tool.main([str(tiny["onnx"]), "--engine", "onnx", *base[:2], "--data-root", str(tmp_path / "x"),
                      "--out", str(tmp_path / "r.json")]) == 2
    assert "data root not found" in capsys.readouterr().err
