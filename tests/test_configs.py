"""Every shipped detector config (configs/**/*.py but _base_ and recognition/) loads, builds, trains one
step, tests a clip online. Recognition configs have their own glob in tests/test_recognition_configs.py.

Configs are found by glob, so a new config is covered without touching this file. Pretrained
``init_cfg``s are dropped (no network); inputs are a hand-built clip of T frames at 64x64.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from tsmdet.apis import load_config
from tsmdet.apis.config import _datasets

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"
CONFIGS = sorted(str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.py")
                 if "_base_" not in p.parts and "recognition" not in p.relative_to(CONFIG_DIR).parts)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_configs_are_found():
    assert {"vid_r50_tsm.py", "vid_r50_baseline.py", "synthetic/faster_rcnn_r18_tsm.py"} <= set(CONFIGS)


def clip_length(cfg) -> int:
    """T of the config: the backbone's ``num_segments``, which every training dataset must serve.

    A shift backbone whose T differs from the dataset's clip length would silently shift
    across clip boundaries; a 2D baseline (no ``num_segments``) uses the datasets' T.
    """
    datasets = _datasets(cfg.train_dataloader.dataset)
    frames = {ds.get("num_frames", 1) for ds in datasets}
    assert len(frames) == 1, f"training datasets disagree on num_frames: {frames}"
    segments = cfg.model.detector.backbone.get("num_segments")
    if segments is not None:
        assert segments == frames.pop(), "backbone num_segments != training clip length num_frames"
        return segments
    return frames.pop()


@pytest.mark.parametrize("config", CONFIGS)
def test_config_trains_and_tests_one_clip(config, build_detector, make_clip_batch):
    cfg = load_config(CONFIG_DIR / config)
    assert cfg.model.type == "OnlineVideoDetector"
    assert cfg.train_dataloader.collate_fn.type == "clip_collate"
    num_frames = clip_length(cfg)
    model = build_detector(cfg)
    backbone = model.detector.backbone
    if hasattr(backbone, "init_state"):  # a TSM model ships online-capable
        assert backbone.shift_direction == "past" and model.test_mode == "online"
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    model.train()
    log_vars = model.train_step(make_clip_batch(1, num_frames, 64, 64), optim_wrapper)
    assert "loss" in log_vars and any(k.startswith("loss_cls") for k in log_vars)
    for name, value in log_vars.items():
        assert math.isfinite(float(torch.as_tensor(value).detach())), f"{name} = {value}"

    model.eval()
    model.reset()
    outputs = model.test_step(make_clip_batch(1, num_frames, 64, 64, seed=1, with_gt=False))
    assert len(outputs) == num_frames
    for t, out in enumerate(outputs):
        assert out.frame_id == t
        pred = out.pred_instances
        assert pred.bboxes.shape == (len(pred), 4) and pred.scores.shape == pred.labels.shape == (len(pred),)
        assert torch.isfinite(pred.bboxes).all()


@pytest.mark.parametrize("config", CONFIGS)
def test_data_root_override_reaches_every_dataset_and_evaluator(config, tmp_path):
    cfg = load_config(CONFIG_DIR / config, data_root=str(tmp_path))
    root = str(tmp_path) + "/"
    for split in ("train", "val", "test"):
        for ds in _datasets(cfg[f"{split}_dataloader"].dataset):
            assert ds.data_root == root
        evaluators = cfg[f"{split}_evaluator"] if split != "train" else []
        for ev in evaluators if isinstance(evaluators, list) else [evaluators]:
            if ev.get("ann_file"):
                assert ev.ann_file.startswith(root), ev.ann_file
