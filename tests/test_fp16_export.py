"""FP16 export keeps box decoding and the class-offset NMS in fp32 (tsmdet.deploy.fp16), proven on onnxruntime.

Hand-derived case (ImageNet VID scale: 30 classes, max coordinate 1000): class-aware NMS adds
``29 * (1000 + 1) = 29029`` to every coordinate of a class-29 box. fp16 holds 29029 as 29024
(between 16384 and 32768 its step is 16), and ``x + 29024`` is rounded to a multiple of 16:

* box A ``x 105..137`` -> 29129 -> 29136 (x 112), 29161 -> 29168 (x 144)
* box B ``x 119..151`` -> 29143 -> 29136 (x 112), 29175 -> 29168 (x 144)

True IoU of A and B (same y range) = 18 / 46 = 0.39 < 0.5: two objects, both kept. In fp16 both
become ``x 112..144``, IoU 1: NMS merges them. With the fp32 island the offsets are exact.

onnxruntime's CPU provider runs fp16 elementwise ops in fp32 (it casts runs of fp16 nodes
without CPU kernels to fp32), so the fp16 arithmetic is made explicit with
``tsmdet.deploy.fp16.emulate_fp16`` (fp16 weights, every fp16 node output rounded by model
Casts, which onnxruntime keeps): what an fp16 GPU computes. The converted file itself is
checked for its structure (fp16 weights, fp32 island, fp32 I/O) and run as well.
"""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from test_export import FASTER_RCNN, W, H, build_model, rgb
from toy_detector import random_frames
from tsmdet.deploy.export import build_deploy_model, export_deploy_model
from tsmdet.deploy.fp16 import convert_to_fp16, emulate_fp16, fp32_island
from tsmdet.deploy.heads import select_detections
from tsmdet.deploy.verify import pair_detections, valid_rows
from tsmdet.ops.temporal_shift import shift_export_form
from tsmdet.runtime.meta import read_onnx_meta
from tsmdet.runtime.onnx_engine import OnnxEngine

BOX_A = [105.0, 96.0, 137.0, 144.0]
BOX_B = [119.0, 96.0, 151.0, 144.0]
BOX_C = [900.0, 500.0, 1000.0, 600.0]  # class 0, sets the max coordinate to 1000
BOX_D = [105.0, 96.0, 137.0, 144.0]  # class 28 at A's place: another class never suppresses A


class RefineThenNMS(nn.Module):
    """A learned layer (identity Linear: exact in fp16) followed by the exporter's detection selection."""

    def __init__(self) -> None:
        super().__init__()
        self.refine = nn.Linear(4, 4)
        with torch.no_grad():
            self.refine.weight.copy_(torch.eye(4))
            self.refine.bias.zero_()

    def forward(self, boxes, scores, labels):
        return select_detections(self.refine(boxes), scores, labels, iou_thr=0.5, score_thr=0.05, max_det=10)


@pytest.fixture(scope="module")
def nms_graph(tmp_path_factory) -> onnx.ModelProto:
    path = tmp_path_factory.mktemp("fp16") / "nms.onnx"
    boxes = torch.tensor([[BOX_A, BOX_B, BOX_C, BOX_D]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(RefineThenNMS().eval(), (boxes, torch.tensor([[0.9, 0.8, 0.7, 0.6]]),
                                                   torch.tensor([[29, 29, 0, 28]])), str(path),
                          input_names=["b", "s", "l"], output_names=["boxes", "scores", "labels", "num"],
                          opset_version=17, dynamo=False)
    return onnx.load(str(path))


def _run(model: onnx.ModelProto) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"b": np.array([[BOX_A, BOX_B, BOX_C, BOX_D]], np.float32),
             "s": np.array([[0.9, 0.8, 0.7, 0.6]], np.float32), "l": np.array([[29, 29, 0, 28]], np.int64)}
    boxes, scores, labels, num = session.run(None, feeds)
    n = int(num[0])
    return boxes[0, :n], labels[0, :n]


def test_fp32_graph_keeps_both_neighbours(nms_graph):
    boxes, labels = _run(nms_graph)
    assert sorted(labels.tolist()) == [0, 28, 29, 29]


def test_all_fp16_nms_merges_neighbours_of_a_high_class(nms_graph):
    boxes, labels = _run(emulate_fp16(nms_graph, None))  # every node the converter can convert
    assert sorted(labels.tolist()) == [0, 28, 29], "fp16 class offsets should have merged A and B"
    np.testing.assert_array_equal(boxes[labels == 29], [BOX_A])  # B (lower score) was merged into A


def test_fp32_island_keeps_them_apart(nms_graph):
    boxes, labels = _run(emulate_fp16(nms_graph, ["refine"]))  # refine in fp16, selection in fp32
    assert sorted(labels.tolist()) == [0, 28, 29, 29]
    np.testing.assert_array_equal(boxes[labels == 29], [BOX_A, BOX_B])  # exact: no fp16 rounding
    island = convert_to_fp16(nms_graph, ["refine"])  # the converted file: same selection
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in island.graph.initializer)  # refine is fp16
    assert [o.type.tensor_type.elem_type for o in island.graph.output[:2]] == [onnx.TensorProto.FLOAT] * 2
    boxes, labels = _run(island)
    assert sorted(labels.tolist()) == [0, 28, 29, 29]
    np.testing.assert_array_equal(boxes[labels == 29], [BOX_A, BOX_B])


@pytest.fixture(scope="module", params=["convs", "concat"])
def detector_fp16(tmp_path_factory, request) -> dict:
    """Both shift spellings (tsmdet.ops.temporal_shift.shift_export_form): the conv form's new cache is a
    graph output the graph also reads (the converter needs an Identity between them, tsmdet.deploy.fp16)."""
    torch.set_num_threads(1)
    model = build_model(FASTER_RCNN)
    deploy, meta = build_deploy_model(model, (W, H))
    root = tmp_path_factory.mktemp("fp16det")
    with shift_export_form(request.param):
        export_deploy_model(deploy, meta, root / "fp32.onnx", verify=False)
        report = export_deploy_model(deploy, meta, root / "fp16.onnx", verify=False, precision="fp16")
    assert report is None
    return dict(deploy=deploy, fp32=root / "fp32.onnx", fp16=root / "fp16.onnx")


def test_detector_fp16_export_has_an_fp32_island(detector_fp16):
    model = onnx.load(str(detector_fp16["fp16"]))
    meta = read_onnx_meta(str(detector_fp16["fp16"]))
    assert meta.precision == "fp16" and read_onnx_meta(str(detector_fp16["fp32"])).precision == "fp32"
    # graph contract unchanged: fp32 in and out
    assert all(v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in model.graph.input)
    assert [v.type.tensor_type.elem_type for v in model.graph.output[:2]] == [onnx.TensorProto.FLOAT] * 2
    # the convolutions carry fp16 weights; the NMS boxes come from an fp32 class-offset Add
    inits = {i.name: i.data_type for i in model.graph.initializer}
    conv_w = [inits[n.input[1]] for n in model.graph.node if n.op_type == "Conv" and n.input[1] in inits]
    assert conv_w and all(t == onnx.TensorProto.FLOAT16 for t in conv_w)
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    producers = {o: n for n in model.graph.node for o in n.output}
    for nms in (n for n in model.graph.node if n.op_type == "NonMaxSuppression"):
        src = producers[nms.input[0]]
        while src.op_type == "Cast":  # the converter's casts around a blocked op
            src = producers[src.input[0]]
        assert src.op_type == "Add" and types[src.output[0]] == onnx.TensorProto.FLOAT, src.name
    assert set(fp32_island(onnx.load(str(detector_fp16["fp32"])), detector_fp16["deploy"].fp16_scopes()))


def test_detector_fp16_detections_close_to_fp32(detector_fp16):
    fp32, fp16 = OnnxEngine(detector_fp16["fp32"]), OnnxEngine(detector_fp16["fp16"])
    meta = fp32.meta
    states_a = states_b = [np.zeros(s.shape, np.float32) for s in meta.states]
    matched = total = 0
    for frame in random_frames(6, (W, H), seed=4):
        out_a, states_a = fp32.step(rgb(frame), states_a)
        out_b, states_b = fp16.step(rgb(frame), states_b)
        a, b = ([o[n] for n in meta.output_names] for o in (out_a, out_b))
        match = pair_detections(valid_rows(a, 0), valid_rows(b, 0), iou_thr=0.9, box_atol=0.5)
        matched, total = matched + match.matched, total + max(match.num_a, match.num_b)
        assert match.matched == 0 or match.max_score_diff < 0.05
        for s_a, s_b in zip(states_a, states_b):  # the fp16 backbone's caches: fp16 rounding, no more
            assert np.abs(s_a - s_b).max() <= 2e-2 * max(1.0, float(np.abs(s_a).max()))
    # random weights make near-tied scores (NMS order flips with any rounding); half still pair up
    assert total > 10 and matched >= 0.5 * total, (matched, total)
