"""ONNX export of tiny TSM detectors (Faster R-CNN + TSMResNet-18, RetinaNet + TSMMobileNetV2, a 2D baseline).

The chain under test: mmdet's own online ``predict`` == the torch deploy module
(export-friendly heads) == onnxruntime on the exported graph, frame after frame
with the shift states fed back; plus the graph contract, TensorRT operator check,
dynamic batch and the command-line tool.
"""
from __future__ import annotations

import copy
import importlib.util
import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import tsmdet.models  # noqa: F401  (registers the TSM backbones and OnlineVideoDetector)
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from toy_detector import random_frames
from tsmdet.deploy.export import build_deploy_model, export_deploy_model
from tsmdet.deploy.trt_ops import check_trt_compatible
from tsmdet.deploy.verify import pair_detections, valid_rows
from tsmdet.runtime.meta import read_onnx_meta
from tsmdet.runtime.onnx_engine import OnnxEngine
from tsmdet.runtime.torch_engine import TorchEngine

REPO = Path(__file__).resolve().parents[1]
W, H = 128, 96
CLASSES = ("car", "dog", "bird")
PREPROCESSOR = dict(type="DetDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                    bgr_to_rgb=True, pad_size_divisor=32)
NMS_FREE_OPS = {"Loop", "If", "ScatterND"}  # what the export-friendly heads avoid

FASTER_RCNN = dict(
    type="FasterRCNN",
    data_preprocessor=PREPROCESSOR,
    backbone=dict(type="TSMResNet", depth=18, num_segments=4, shift_div=8, shift_direction="past",
                  out_indices=(0, 1, 2, 3), norm_eval=True, style="pytorch"),
    neck=dict(type="FPN", in_channels=[64, 128, 256, 512], out_channels=32, num_outs=5),
    rpn_head=dict(
        type="RPNHead", in_channels=32, feat_channels=32,
        anchor_generator=dict(type="AnchorGenerator", scales=[8], ratios=[0.5, 1.0, 2.0],
                              strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
        loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True), loss_bbox=dict(type="L1Loss")),
    roi_head=dict(
        type="StandardRoIHead",
        bbox_roi_extractor=dict(type="SingleRoIExtractor",
                                roi_layer=dict(type="RoIAlign", output_size=7, sampling_ratio=0),
                                out_channels=32, featmap_strides=[4, 8, 16, 32]),
        bbox_head=dict(type="Shared2FCBBoxHead", in_channels=32, fc_out_channels=64, roi_feat_size=7,
                       num_classes=len(CLASSES),
                       bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4,
                                       target_stds=[0.1, 0.1, 0.2, 0.2]),
                       reg_class_agnostic=False, loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=False),
                       loss_bbox=dict(type="L1Loss"))),
    train_cfg=None,
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=50, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5), max_per_img=20)),
)
RETINANET = dict(
    type="RetinaNet",
    data_preprocessor=PREPROCESSOR,
    backbone=dict(type="TSMMobileNetV2", widen_factor=0.5, num_segments=4, shift_direction="past",
                  out_indices=(2, 4, 6)),
    neck=dict(type="FPN", in_channels=[16, 48, 160], out_channels=32, start_level=0,
              add_extra_convs="on_input",
              num_outs=5),
    bbox_head=dict(
        type="RetinaHead", num_classes=len(CLASSES), in_channels=32, stacked_convs=1, feat_channels=32,
        anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
        loss_cls=dict(type="FocalLoss", use_sigmoid=True), loss_bbox=dict(type="L1Loss")),
    test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5),
                  max_per_img=20),
)
BASELINE_2D = copy.deepcopy(RETINANET)  # the latency baseline: same detector, plain backbone, no state
BASELINE_2D["backbone"] = dict(type="MobileNetV2", widen_factor=0.5, out_indices=(2, 4, 6))
DETECTORS = {"faster_rcnn": FASTER_RCNN, "retinanet": RETINANET}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models: a 2nd OpenMP thread only fights onnxruntime's spinning pool (10-50x slower on 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rgb(frame_bgr: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (1, 3, H, W) float32 RGB, the graph input for a frame already at input size."""
    return np.ascontiguousarray(frame_bgr[..., ::-1].transpose(2, 0, 1)[None], dtype=np.float32)


def build_model(detector_cfg: dict) -> torch.nn.Module:
    """An OnlineVideoDetector with random weights, made lively enough to detect on random frames.

    Untrained BatchNorm statistics shrink the features layer after layer until every
    anchor gets the same score (NMS would only see ties), so the backbone's BN
    statistics are first estimated on a few frames; the head biases then put a good
    share of the scores above the 0.05 threshold without saturating them.
    """
    init_default_scope("mmdet")
    torch.manual_seed(0)
    # a ConfigDict, as from a config file: mmdet's detectors read test_cfg.rpn by attribute
    cfg = ConfigDict(type="OnlineVideoDetector", detector=copy.deepcopy(detector_cfg))
    model = MODELS.build(cfg).eval()
    model.dataset_meta = {"classes": CLASSES}
    detector = model.detector
    frames = np.concatenate([rgb(f) for f in random_frames(4, (W, H), seed=100)])  # one clip of T=4
    mean, std = (torch.tensor(PREPROCESSOR[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    for m in detector.backbone.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
    torch.nn.Module.train(detector.backbone, True)  # bypass norm_eval, which keeps BN frozen
    with torch.no_grad():
        detector.backbone((torch.from_numpy(frames) - mean) / std)
        if hasattr(detector, "roi_head"):  # foreground beats background on most RoIs
            detector.roi_head.bbox_head.fc_cls.bias.copy_(torch.tensor([1.0, 0.5, 0.0, -1.0]))
        else:  # trained-like magnitudes: deltas ~0.3 (not 3), scores spread over 0..1 (not saturated)
            detector.bbox_head.retina_reg.weight.mul_(0.1)
            detector.bbox_head.retina_cls.weight.mul_(0.3)
            detector.bbox_head.retina_cls.bias.fill_(-1.5)
    return model.eval()


def assert_same_detections(a, b, iou_thr: float = 0.99, score_atol: float = 1e-3) -> None:
    match = pair_detections(a, b, iou_thr)
    assert match.num_a == match.num_b == match.matched, match
    assert match.max_score_diff <= score_atol, match


@pytest.fixture(scope="module", params=list(DETECTORS))
def exported(request, tmp_path_factory) -> dict:
    model = build_model(DETECTORS[request.param])
    deploy, meta = build_deploy_model(model, (W, H), model_name=request.param)
    path = tmp_path_factory.mktemp("export") / f"{request.param}.onnx"
    export_deploy_model(deploy, meta, path, verify=False)
    return dict(name=request.param, model=model, deploy=deploy, meta=meta, path=path)


def test_graph_io_and_metadata(exported):
    meta, model = exported["meta"], exported["model"]
    graph = onnx.load(str(exported["path"])).graph
    num_states = len(model.detector.backbone.shifts)
    assert num_states > 0 and len(meta.states) == num_states
    assert [i.name for i in graph.input] == ["image", *(f"state_{i}" for i in range(num_states))]
    assert [o.name for o in graph.output] == [
        "boxes", "scores", "labels", "num_dets", *(f"state_out_{i}" for i in range(num_states))]
    dims = {v.name: ([d.dim_value for d in v.type.tensor_type.shape.dim], v.type.tensor_type.elem_type)
            for v in [*graph.input, *graph.output]}
    k = meta.max_det
    assert dims["image"] == ([1, 3, H, W], onnx.TensorProto.FLOAT)
    assert dims["boxes"] == ([1, k, 4], onnx.TensorProto.FLOAT)
    assert dims["scores"] == ([1, k], onnx.TensorProto.FLOAT)
    assert dims["labels"] == ([1, k], onnx.TensorProto.INT32)
    assert dims["num_dets"] == ([1], onnx.TensorProto.INT32)
    for spec, state in zip(meta.states, model.detector.backbone.init_state(1, H, W)):
        assert dims[spec.name] == dims[spec.output] == (list(state.shape), onnx.TensorProto.FLOAT)
    assert read_onnx_meta(str(exported["path"])) == meta
    assert meta.input_size == (W, H) and meta.classes == CLASSES and meta.channel_order == "RGB"
    assert meta.mean == pytest.approx(PREPROCESSOR["mean"]) and meta.std == pytest.approx(PREPROCESSOR["std"])
    assert meta.batch_size == 1 and meta.max_det == 20 and meta.score_thr == pytest.approx(0.05)


def test_trt_compatible_and_static_nms(exported):
    check_trt_compatible(exported["path"])
    nodes = onnx.load(str(exported["path"])).graph.node
    ops = {n.op_type for n in nodes}
    assert "NonMaxSuppression" in ops and not ops & NMS_FREE_OPS, sorted(ops)
    non_zero = [n for n in nodes if n.op_type == "NonZero"]
    if exported["name"] == "faster_rcnn":
        roi_aligns = [n for n in nodes if n.op_type == "RoiAlign"]
        assert len(roi_aligns) == 4  # one per FPN level, each on that level's RoIs only
        assert len(non_zero) == 4  # the only data-dependent shapes: which RoIs each level pools
        for node in roi_aligns:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert attrs["coordinate_transformation_mode"] == b"half_pixel"
            assert (attrs["output_height"], attrs["output_width"], attrs["sampling_ratio"]) == (7, 7, 0)
    else:
        assert not non_zero


def test_shift_exports_as_split_concat_the_quantizer_can_find(exported):
    """Each online shift is one Split and one Concat (constant split sizes, no shape arithmetic),
    named after its module (``.../shifts.i/``), which is how tsmdet.deploy.quantize keeps it out of int8."""
    from tsmdet.deploy.quantize import SHIFT_NODE

    nodes = onnx.load(str(exported["path"])).graph.node
    num_states = len(exported["meta"].states)
    by_shift: dict[str, list[str]] = {}
    for node in nodes:
        match = SHIFT_NODE.search(node.name)
        if match and node.op_type != "Constant":  # the split sizes are a Constant node
            by_shift.setdefault(match.group(0), []).append(node.op_type)
    assert len(by_shift) == num_states > 0
    assert all(sorted(ops) == ["Concat", "Split"] for ops in by_shift.values()), by_shift


def test_onnxruntime_matches_torch_over_30_frames(exported):
    meta = exported["meta"]
    ort_engine, torch_engine = OnnxEngine(exported["path"]), TorchEngine(exported["deploy"], meta)
    states_o = states_t = [np.zeros(s.shape, np.float32) for s in meta.states]
    total = 0
    for frame in random_frames(30, (W, H), seed=1):
        out_o, states_o = ort_engine.step(rgb(frame), states_o)
        out_t, states_t = torch_engine.step(rgb(frame), states_t)
        for s_o, s_t in zip(states_o, states_t):
            np.testing.assert_allclose(s_o, s_t, rtol=1e-4, atol=1e-4)
        outputs_o, outputs_t = [[o[n] for n in meta.output_names] for o in (out_o, out_t)]
        assert_same_detections(valid_rows(outputs_t, 0), valid_rows(outputs_o, 0))
        total += int(out_t["num_dets"][0])
        n = int(out_o["num_dets"][0])
        assert not out_o["scores"][0, n:].any() and not out_o["labels"][0, n:].any()  # filler rows are zero
    assert total > 30  # the comparison saw detections, not empty frames


def test_reset_gives_first_frame_again(exported):
    engine = OnnxEngine(exported["path"])
    frames = random_frames(5, (W, H), seed=2)
    first = engine.infer(frames[:1])[0]
    for frame in frames[1:]:
        engine.infer([frame])
    carried = engine.infer(frames[:1])[0]  # same frame, but the state holds the previous frames
    engine.reset()
    again = engine.infer(frames[:1])[0]
    np.testing.assert_array_equal(again.boxes, first.boxes)
    np.testing.assert_array_equal(again.scores, first.scores)
    assert len(carried) != len(first) or not np.array_equal(carried.scores, first.scores)


def test_deploy_module_matches_mmdet_online_predict(exported):
    """Same frames, same model: mmdet's predict (online mode, its own heads) vs the deploy module."""
    model, deploy, meta = exported["model"], exported["deploy"], exported["meta"]
    model.reset()
    states = [torch.zeros(s.shape) for s in meta.states]
    for t, frame in enumerate(random_frames(6, (W, H), seed=3)):
        sample = DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W), scale_factor=(1.0, 1.0),
                                             is_video_start=t == 0))
        data = {"inputs": [torch.from_numpy(frame).permute(2, 0, 1).contiguous()], "data_samples": [sample]}
        with torch.no_grad():
            pred = model.test_step(data)[0].pred_instances
            outputs = deploy(torch.from_numpy(rgb(frame)), *states)
        states = list(outputs[4:])
        ref = (pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy())
        assert len(ref[0]) > 0
        assert_same_detections(ref, valid_rows([o.numpy() for o in outputs[:4]], 0))


def test_dynamic_batch_two_streams_equal_single_streams(exported, tmp_path):
    deploy, meta = build_deploy_model(exported["model"], (W, H), dynamic_batch=True)
    path = tmp_path / "dynamic.onnx"
    report = export_deploy_model(deploy, meta, path, verify=True, verify_frames=3)
    assert report.detections.matched > 0 and read_onnx_meta(str(path)).batch_size == -1
    both = OnnxEngine(path, num_streams=2)
    single = [OnnxEngine(path), OnnxEngine(path)]
    streams = [random_frames(4, (W, H), seed=10), random_frames(4, (W, H), seed=11)]
    for a, b in zip(*streams):
        batched = both.infer([a, b])
        for engine, frame, det in zip(single, (a, b), batched):
            alone = engine.infer([frame])[0]
            assert_same_detections((alone.boxes, alone.scores, alone.labels),
                                   (det.boxes, det.scores, det.labels),
                                   score_atol=1e-5)


def test_plain_backbone_exports_without_state(tmp_path):
    model = build_model(BASELINE_2D)
    deploy, meta = build_deploy_model(model, (W, H))
    report = export_deploy_model(deploy, meta, tmp_path / "baseline.onnx", verify_frames=2)
    assert meta.states == () and report.detections.matched > 0
    assert [i.name for i in onnx.load(str(tmp_path / "baseline.onnx")).graph.input] == ["image"]


def test_roi_align_matches_mmcv():
    """torchvision's RoIAlign (exported as ONNX RoiAlign, half_pixel) computes mmcv's aligned RoIAlign."""
    from mmcv.ops import RoIAlign
    from torchvision.ops import roi_align

    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 8, 24, 32, generator=g)
    xy = torch.rand(40, 2, generator=g) * 100
    image_ids = torch.randint(0, 2, (40, 1), generator=g).float()
    rois = torch.cat([image_ids, xy, xy + torch.rand(40, 2, generator=g) * 60], 1)  # (40, 5)
    for sampling_ratio in (0, 2):
        ref = RoIAlign(7, spatial_scale=0.25, sampling_ratio=sampling_ratio, aligned=True)(feats, rois)
        got = roi_align(feats, rois, (7, 7), 0.25, sampling_ratio, aligned=True)
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def _load_tool():
    spec = importlib.util.spec_from_file_location("export_onnx_tool", REPO / "tools" / "export_onnx.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_cli_exports_a_saved_checkpoint(tmp_path, caplog):
    model = build_model(FASTER_RCNN)
    ckpt = tmp_path / "tiny.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": CLASSES}}}, ckpt)
    config = tmp_path / "tiny_tsm_faster_rcnn.py"
    config.write_text(
        "default_scope = 'mmdet'\n"
        "custom_imports = dict(imports=['tsmdet.models'], allow_failed_imports=False)\n"
        f"model = dict(type='OnlineVideoDetector', detector={FASTER_RCNN!r})\n"
        f"test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=({W}, {H - 10}), "
        "keep_ratio=True), dict(type='PackDetInputs')]\n"
    )
    out = tmp_path / "cli.onnx"
    tool = _load_tool()
    with caplog.at_level(logging.INFO):
        assert tool.main([str(config), str(ckpt), "--out", str(out), "--max-det", "10"]) == 0
    meta = read_onnx_meta(str(out))
    assert meta.input_size == (W, H)  # the Resize scale rounded up to pad_size_divisor=32
    assert meta.classes == CLASSES and meta.max_det == 10 and meta.model_name == config.stem
    assert "detections matched" in caplog.text  # the onnxruntime verification ran
    assert meta.batch_size == -1  # a dynamic stream batch by default (issue 15)
    static = tmp_path / "static.onnx"
    assert tool.main([str(config), str(ckpt), "--out", str(static), "--static-batch", "--no-verify"]) == 0
    assert read_onnx_meta(str(static)).batch_size == 1


def test_cli_names_a_missing_file(tmp_path, capsys):
    tool = _load_tool()
    argv = [str(tmp_path / "nope.py"), str(tmp_path / "x.pth"), "--out", str(tmp_path / "m.onnx")]
    assert tool.main(argv) == 2
    assert "config file not found" in capsys.readouterr().err
