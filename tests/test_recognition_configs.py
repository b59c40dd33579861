"""Every recognition config (configs/recognition/**, by glob) builds, trains one step and tests one
video through its own pipelines; sizes are shrunk (32 px crops, at most 2 clips) to stay fast."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from tsmdet.apis import load_config

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs" / "recognition"
CONFIGS = sorted(str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.py"))
DIRECTION_SENSITIVE = ("sthv2", "jester", "synthetic")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_configs_are_found():
    assert {"tsm_r50_k400_8f.py", "tsm_r50_sthv2_8f.py", "tsm_mbv2_jester_8f.py",
            "synthetic/tsm_r18_gestures.py", "synthetic/tsn_r18_gestures.py"} <= set(CONFIGS)


def shrink(pipeline: list) -> list:
    """The config's pipeline with 40 px resizes, 32 px crops and at most two clips (inputs at most 40x53)."""
    out = copy.deepcopy(list(pipeline))
    for step in out:
        if step["type"] == "VideoResize":
            step["scale"] = 40
        elif step["type"] in ("VideoCenterCrop", "VideoThreeCrop"):
            step["crop_size"] = 32
        elif step["type"] == "VideoMultiScaleCrop":
            step["input_size"] = 32
        elif step["type"] == "SampleSegments":
            step["num_clips"] = min(step.get("num_clips", 1), 2)
    return out


def clip(seed: int, n: int = 20) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (48, 80, 3), dtype=np.uint8)
    return [np.roll(base, 2 * t, axis=1)[:, :64].copy() for t in range(n)]  # moves right


def run_pipeline(pipeline: list, label: int, seed: int) -> dict:
    return Compose(pipeline)(dict(video_frames=clip(seed), total_frames=20, label=label, video_id=seed))


@pytest.mark.parametrize("config", CONFIGS)
def test_recognition_config_trains_and_tests_one_step(config, build_detector):
    cfg = load_config(CONFIG_DIR / config)
    assert cfg.model.type == "Recognizer2D"
    assert "tsmdet.datasets.recognition" in cfg.custom_imports.imports
    train_types = [s["type"] for s in cfg.train_dataloader.dataset.pipeline]
    if any(k in config for k in DIRECTION_SENSITIVE):
        assert "VideoFlip" not in train_types, "direction-sensitive set with a flip"
    segments = [s["num_segments"] for s in cfg.train_dataloader.dataset.pipeline if s["type"] == "SampleSegments"]
    assert segments == [cfg.model.backbone.num_segments]
    init_default_scope("mmdet")
    import tsmdet.datasets.recognition  # noqa: F401

    model = build_detector(cfg)  # randomly initialised, pretrained weights dropped
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    train = shrink(cfg.train_dataloader.dataset.pipeline)
    batch = pseudo_collate([run_pipeline(train, 0, 0), run_pipeline(train, 1, 1)])
    model.train()
    log_vars = model.train_step(batch, optim_wrapper)
    loss = float(torch.as_tensor(log_vars["loss"]).detach())
    assert math.isfinite(loss) and loss > 0

    test = shrink(cfg.test_dataloader.dataset.pipeline)
    data = run_pipeline(test, 2, 2)
    views = data["data_samples"].metainfo["num_views"]
    assert data["inputs"].shape[:2] == (views * segments[0], 3) and max(data["inputs"].shape[2:]) <= 54
    model.eval()
    with torch.no_grad():
        (pred,) = model.test_step(pseudo_collate([data]))
    assert pred.pred_score.shape == (cfg.model.cls_head.num_classes,)
    assert float(pred.pred_score.sum()) == pytest.approx(1.0, abs=1e-4)
    assert int(pred.pred_label) == int(pred.pred_score.argmax())
