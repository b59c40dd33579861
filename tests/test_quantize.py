"""INT8 by explicit quantization (tsmdet.deploy.quantize, tools/quantize.py) on the toy online detector.

The toy detector (tests/toy_detector.py) has two learned convolutions with shift caches between
them; the reader must hand onnxruntime's calibrator the states a stream really produces, the
QDQ file must run on onnxruntime and stay close to fp32 on a test clip, and the layers outside
the learned scopes (here the score/box projection, top-k and box assembly) must stay fp32.
"""
from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch

from toy_detector import ToyOnlineDetector, export_toy, random_frames, zero_states
from tsmdet.deploy.quantize import StreamingCalibrationReader, compare_speed, quantize_int8
from tsmdet.deploy.verify import pair_detections
from tsmdet.runtime.meta import META_KEY, read_onnx_meta
from tsmdet.runtime.onnx_engine import OnnxEngine

REPO = Path(__file__).resolve().parents[1]
LEARNED = ["conv", "conv2"]  # the toy's learned layers (module paths), as an export records them


def _with_scopes(path: Path) -> Path:
    """Record the learned-layer scopes in the metadata, as tools/export_onnx.py does for detectors."""
    model = onnx.load(str(path))
    meta = read_onnx_meta(str(path))
    prop = next(p for p in model.metadata_props if p.key == META_KEY)
    prop.value = dataclasses.replace(meta, extra={**meta.extra, "learned_scopes": LEARNED}).to_json()
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("int8")
    frames = random_frames(24, (60, 40), seed=21)
    folder = root / "calib"
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:05d}.png"), frame)
    fp32 = _with_scopes(export_toy(root / "toy.onnx", dynamic_batch=False))
    report = quantize_int8(fp32, folder, root / "toy.int8.onnx", frames=24)
    return dict(fp32=fp32, int8=report.out, report=report, folder=folder, frames=frames)


def test_calibration_reader_feeds_the_streams_states(toy):
    """The states handed to the calibrator are the torch module's states entering each frame."""
    meta = read_onnx_meta(str(toy["fp32"]))
    module = ToyOnlineDetector().eval()
    states = zero_states()
    reader = StreamingCalibrationReader(toy["fp32"], toy["folder"], num_frames=5)
    for t, frame in enumerate(toy["frames"][:5]):
        feeds = reader.get_next()
        image = meta.preprocessing.apply(frame)[0][None]
        np.testing.assert_array_equal(feeds["image"], image)
        for name, ref in zip(("state_0", "state_1"), states):
            np.testing.assert_allclose(feeds[name], ref, atol=1e-5)
        if t > 0:
            assert np.abs(feeds["state_0"]).sum() > 0  # real caches, not zeros
        with torch.no_grad():
            out = module(torch.from_numpy(image), *map(torch.from_numpy, states))
        states = [o.numpy() for o in out[4:]]
    assert reader.get_next() is None and reader.frames_read == 5


def test_qdq_model_structure(toy):
    model = onnx.load(str(toy["int8"]))
    meta = read_onnx_meta(str(toy["int8"]))
    assert meta.precision == "int8" and meta.extra["quantization"]["format"] == "QDQ"
    assert meta.extra["quantization"]["calibration_frames"] == 24
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    quants = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    assert quants and all(not inits[n.input[2]].any() for n in quants if len(n.input) > 2)  # symmetric
    producers = {o: n for n in model.graph.node for o in n.output}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) == 2
    for conv in convs:  # both learned convs read dequantized int8 weights, one scale per output channel
        weight_dq = producers[conv.input[1]]
        assert weight_dq.op_type == "DequantizeLinear"
        assert inits[weight_dq.input[0]].dtype == np.int8
        assert inits[weight_dq.input[1]].shape == (4,)
    for node in model.graph.node:  # the fp32 island (projection, top-k, boxes) reads no int8 weight
        if node.op_type in ("MatMul", "TopK"):
            assert all(producers.get(i) is None or producers[i].op_type != "DequantizeLinear"
                       or producers[i].input[0] not in inits for i in node.input), node.name


def test_qdq_detections_close_to_fp32_on_a_clip(toy):
    fp32, int8 = OnnxEngine(toy["fp32"]), OnnxEngine(toy["int8"])
    total = matched = 0
    for frame in random_frames(12, (60, 40), seed=99):
        (a,), (b,) = fp32.infer([frame]), int8.infer([frame])
        match = pair_detections((a.boxes, a.scores, a.labels), (b.boxes, b.scores, b.labels), iou_thr=0.8,
                                box_atol=1.0)
        total, matched = total + max(match.num_a, match.num_b), matched + match.matched
        assert match.matched == 0 or match.max_score_diff < 0.05
    assert total >= 12 and matched >= 0.8 * total, (matched, total)


def test_speed_comparison_reports_both_models(toy):
    speed = compare_speed([toy["fp32"], toy["int8"]], toy["folder"], frames=8, block=4, threads=1)
    assert set(speed.p50_ms) == {str(toy["fp32"]), str(toy["int8"])} and speed.paired_ratio > 0


def _tool():
    spec = importlib.util.spec_from_file_location("quantize_tool", REPO / "tools" / "quantize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_percentile_and_bad_inputs(toy, tmp_path, capsys):
    tool = _tool()
    out = tmp_path / "p.int8.onnx"
    assert tool.main([str(toy["fp32"]), "--calib", str(toy["folder"]), "--frames", "4", "--method", "percentile",
                      "--out", str(out)]) == 0
    assert read_onnx_meta(str(out)).extra["quantization"]["method"] == "percentile"
    assert tool.main([str(tmp_path / "nope.onnx"), "--calib", str(toy["folder"]), "--out", str(out)]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert tool.main([str(toy["int8"]), "--calib", str(toy["folder"]), "--out", str(out)]) == 2
    assert "quantize an fp32 export" in capsys.readouterr().err
