"""One preprocessing contract: the mmdet test pipeline and the runtime give the same network input.

The same frame goes (a) through the shipped config's test pipeline (``ContractPreprocess``)
and mmdet's ``DetDataPreprocessor``, and (b) through ``tsmdet.runtime`` (the contract read back
from an exported model's metadata) followed by the graph's normalisation; the two tensors must
be equal, for landscape, portrait and square frames. For landscape and square frames both must
also equal what mmdet's stock ``Resize(keep_ratio=True)`` + padding to the divisor produced
before the contract (so tools/test.py numbers are unchanged), and boxes must map back to the
same original-frame coordinates as mmdet's ``scale_factor`` rescaling.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import tsmdet.datasets.preprocess_pipeline  # noqa: F401  (registers ContractPreprocess)
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.structures.bbox import scale_boxes
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from toy_detector import random_frames
from tsmdet.deploy.deploy_model import check_contract
from tsmdet.runtime.meta import ModelMeta
from tsmdet.runtime.preprocess import Preprocess, letterbox, unletterbox_boxes

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "synthetic" / "faster_rcnn_r18_tsm.py"
DETECTOR_CONFIGS = [REPO / "configs" / n for n in ("vid_r50_tsm.py", "vid_r50_baseline.py",
                                                   "vid_mbv2_tsm_retinanet.py")] + [
    REPO / "configs" / "synthetic" / n for n in ("faster_rcnn_r18_tsm.py", "faster_rcnn_r18_baseline.py",
                                                 "retinanet_mbv2_tsm.py")]
FRAME_SIZES = {"landscape": (200, 150), "wide": (320, 100), "exact": (160, 120), "portrait": (90, 140),
               "square": (130, 130)}


@pytest.fixture(scope="module")
def cfg() -> Config:
    init_default_scope("mmdet")
    return Config.fromfile(str(CONFIG))


def _data_preprocessor(cfg: Config):
    return MODELS.build(cfg.model.detector.data_preprocessor)


def _mmdet_input(pipeline_cfg: list, frame: np.ndarray, tmp_path: Path, preprocessor) -> tuple[torch.Tensor, dict]:
    """The normalised (3, H, W) batch input and metainfo that mmdet's test path makes of ``frame``."""
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), frame)
    steps = [t for t in pipeline_cfg if t["type"] != "LoadAnnotations"]  # no ground truth here
    data = Compose([TRANSFORMS.build(t) for t in steps])({"img_path": str(path), "img_id": 0})
    batch = preprocessor({"inputs": [data["inputs"]], "data_samples": [data["data_samples"]]}, training=False)
    return batch["inputs"][0], batch["data_samples"][0].metainfo


def _normalise(tensor: np.ndarray, contract: Preprocess) -> torch.Tensor:
    """The graph's first op: ``(image - mean) / std`` (tsmdet.deploy.deploy_model.DeployDetector)."""
    mean = torch.tensor(contract.mean).view(3, 1, 1)
    std = torch.tensor(contract.std).view(3, 1, 1)
    return (torch.from_numpy(tensor) - mean) / std


def _exported_contract(cfg: Config) -> Preprocess:
    """The contract as an exported model carries it: through check_contract and the metadata JSON."""
    pre = cfg.model.detector.data_preprocessor
    contract = check_contract(Preprocess.from_dict(cfg.preprocess), tuple(cfg.preprocess["input_size"]),
                              "RGB" if pre.bgr_to_rgb else "BGR", tuple(pre.mean), tuple(pre.std))
    meta = ModelMeta(input_size=contract.input_size, classes=("a",), preprocess=contract)
    return ModelMeta.from_json(meta.to_json()).preprocessing


@pytest.mark.parametrize("kind", list(FRAME_SIZES))
def test_same_tensor_through_mmdet_pipeline_and_runtime(cfg, kind, tmp_path):
    w, h = FRAME_SIZES[kind]
    frame = random_frames(1, (w, h), seed=w * h)[0]
    contract = _exported_contract(cfg)
    mmdet_input, metainfo = _mmdet_input(cfg.test_pipeline, frame, tmp_path, _data_preprocessor(cfg))
    tensor, info = contract.apply(frame)  # what every engine feeds the graph
    runtime_input = _normalise(tensor, contract)
    assert tuple(runtime_input.shape) == (3, contract.input_size[1], contract.input_size[0])
    torch.testing.assert_close(mmdet_input, runtime_input, rtol=0, atol=1e-5)
    assert metainfo["scale_factor"] == pytest.approx(info.scale_xy)
    # the content fits inside the resize box, and the padding is 0 after normalisation
    new_w, new_h = round(w * info.scale_xy[0]), round(h * info.scale_xy[1])
    assert new_w <= contract.resize_box[0] and new_h <= contract.resize_box[1]
    assert torch.all(runtime_input[:, new_h:, :] == 0) and torch.all(runtime_input[:, :, new_w:] == 0)


@pytest.mark.parametrize("kind", ["landscape", "wide", "exact", "square"])
def test_contract_equals_stock_mmdet_resize_for_landscape_and_square(cfg, kind, tmp_path):
    """The pre-contract test pipeline (mmdet Resize keep_ratio + pad to 32 with 0), zero-padded to the input."""
    w, h = FRAME_SIZES[kind]
    frame = random_frames(1, (w, h), seed=w + h)[0]
    contract = Preprocess.from_dict(cfg.preprocess)
    stock = [dict(type="LoadImageFromFile"), dict(type="Resize", scale=contract.resize_box, keep_ratio=True),
             dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"))]
    ref, meta_ref = _mmdet_input(stock, frame, tmp_path, _data_preprocessor(cfg))
    in_w, in_h = contract.input_size
    ref = torch.nn.functional.pad(ref, (0, in_w - ref.shape[-1], 0, in_h - ref.shape[-2]))  # (3, H, W)
    tensor, info = contract.apply(frame)
    torch.testing.assert_close(_normalise(tensor, contract), ref, rtol=0, atol=1e-5)
    assert meta_ref["scale_factor"] == pytest.approx(info.scale_xy)

    # boxes: network-input pixels -> original frame, as mmdet rescales its predictions
    rng = np.random.default_rng(w)
    content_w, content_h = meta_ref["img_shape"][1], meta_ref["img_shape"][0]
    xy = rng.uniform(0, 1, size=(16, 4)) * [content_w, content_h, content_w, content_h]
    boxes = np.concatenate([np.minimum(xy[:, :2], xy[:, 2:]), np.maximum(xy[:, :2], xy[:, 2:])], 1)
    sx, sy = meta_ref["scale_factor"]
    expected = scale_boxes(torch.tensor(boxes, dtype=torch.float32), [1 / sx, 1 / sy]).numpy()
    np.testing.assert_allclose(unletterbox_boxes(boxes, info), np.minimum(expected, [w, h, w, h]), atol=1e-3)


def test_portrait_frames_fit_the_fixed_input(cfg):
    """mmdet's rule (long edge to the long side) would make a 90x140 frame 120x187: taller than the graph."""
    contract = Preprocess.from_dict(cfg.preprocess)
    tensor, info = contract.apply(random_frames(1, (90, 140), seed=5)[0])
    assert tensor.shape == (3, 128, 160)
    assert info.scale_xy == pytest.approx((77 / 90, 120 / 140))  # fit inside 160x120: int(x * 6/7 + 0.5)


def test_metadata_without_contract_keeps_the_letterbox():
    """Files exported before the contract: the centred letterbox with their pad value, unchanged."""
    legacy = ModelMeta(input_size=(48, 32), classes=("a",), pad_value=114.0)
    raw = json.loads(legacy.to_json())
    del raw["preprocess"], raw["precision"]  # the fields a pre-contract file does not have
    meta = ModelMeta.from_json(json.dumps(raw))
    assert meta.preprocess is None and meta.precision == "fp32"
    frame = random_frames(1, (60, 50), seed=1)[0]
    got, got_info = meta.preprocessing.apply(frame)
    ref, ref_info = letterbox(frame, (48, 32), 114.0, "RGB")
    np.testing.assert_array_equal(got, ref)
    assert got_info == ref_info and ref_info.pad_x > 0  # centred


def test_export_refuses_a_contract_that_disagrees_with_the_model():
    contract = Preprocess(input_size=(160, 128), mean=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="mean"):
        check_contract(contract, (160, 128), "RGB", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
    with pytest.raises(ValueError, match="input_size"):
        check_contract(Preprocess(input_size=(160, 128)), (192, 128), "RGB", contract.mean, contract.std)


@pytest.mark.parametrize("path", DETECTOR_CONFIGS, ids=lambda p: p.stem)
def test_shipped_detector_configs_state_one_contract(path):
    """Every detector config has a preprocess dict, its test pipeline applies it, and it matches the model."""
    cfg = Config.fromfile(str(path))
    contract = Preprocess.from_dict(cfg.preprocess)
    steps = [t for t in cfg.test_dataloader.dataset.pipeline if t["type"] in ("ContractPreprocess", "Resize")]
    assert [t["type"] for t in steps] == ["ContractPreprocess"]
    assert Preprocess.from_dict({k: v for k, v in steps[0].items() if k != "type"}) == contract
    pre = cfg.model.get("detector", cfg.model).data_preprocessor
    check_contract(contract, contract.input_size, "RGB" if pre.bgr_to_rgb else "BGR", tuple(pre.mean), tuple(pre.std))
    divisor = pre.get("pad_size_divisor", 1)
    assert contract.input_size[0] % divisor == 0 and contract.input_size[1] % divisor == 0


@pytest.mark.parametrize("kind", ["landscape", "portrait", "wide"])
def test_stretch_equals_stock_mmdet_resize_without_keep_ratio(cfg, kind, tmp_path):
    """``keep_ratio=False`` (the TSM online demo's 640x480 -> 224x224): mmdet's Resize(keep_ratio=False),
    through the metadata JSON, and boxes mapped back per axis."""
    w, h = FRAME_SIZES[kind]
    frame = random_frames(1, (w, h), seed=3 * w + h)[0]
    contract = Preprocess.from_dict({**cfg.preprocess, "keep_ratio": False})
    meta = ModelMeta(input_size=contract.input_size, classes=("a",), preprocess=contract)
    contract = ModelMeta.from_json(meta.to_json()).preprocessing
    assert contract.keep_ratio is False
    stock = [dict(type="LoadImageFromFile"), dict(type="Resize", scale=contract.resize_box, keep_ratio=False),
             dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"))]
    ref, meta_ref = _mmdet_input(stock, frame, tmp_path, _data_preprocessor(cfg))
    in_w, in_h = contract.input_size
    ref = torch.nn.functional.pad(ref, (0, in_w - ref.shape[-1], 0, in_h - ref.shape[-2]))
    tensor, info = contract.apply(frame)
    assert meta_ref["img_shape"] == (contract.resize_box[1], contract.resize_box[0])  # every frame stretched
    torch.testing.assert_close(_normalise(tensor, contract), ref, rtol=0, atol=1e-5)
    assert meta_ref["scale_factor"] == pytest.approx(info.scale_xy)
    box = np.array([[10.0, 20.0, 60.0, 90.0]])
    sx, sy = info.scale_xy
    np.testing.assert_allclose(unletterbox_boxes(box, info),
                               np.minimum(box / [sx, sy, sx, sy], [w, h, w, h]), atol=1e-4)


def test_stretch_is_refused_with_the_centred_letterbox():
    with pytest.raises(ValueError, match="keep_ratio"):
        Preprocess(input_size=(64, 64), pad_position="center", keep_ratio=False)
    with pytest.raises(ValueError, match="keep_ratio"):
        Preprocess.from_dict({"input_size": [64, 64], "keep_ratio": "no"})
