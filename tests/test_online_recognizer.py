"""Online recognizer == offline past-shift clip model, frame by frame (Recognizer2D.init_state / step)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import Config

import tsmdet.models  # noqa: F401  (registers the recognizers)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one OpenMP thread
T = 8


def _build(config: str, head: dict | None = None, **backbone) -> torch.nn.Module:
    cfg = Config.fromfile(str(ROOT / config))
    model = cfg.model.to_dict()
    model["backbone"].update(init_cfg=None, shift_direction="past", num_segments=T, **backbone)
    model["cls_head"].update(head or {})
    torch.manual_seed(0)
    net = MODELS.build(model).eval()
    # non-trivial BN statistics and head, so a wrong cache changes the logits visibly
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):  # signal-preserving init: default init fades in deep nets
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    torch.nn.init.normal_(net.cls_head.fc_cls.weight, std=0.1)
    return net


_R50_SMALL = dict(base_channels=16, stem_channels=16, head=dict(in_channels=512))  # the recipe, narrow
CASES = [
    ("configs/recognition/synthetic/tsm_r18_gestures.py", {}, 32),
    ("configs/recognition/synthetic/tsm_r18_gestures_online.py", {}, 32),
    ("configs/recognition/tsm_r50_sthv2_8f.py", _R50_SMALL, 32),
    ("configs/recognition/tsm_r50_k400_8f.py", _R50_SMALL, 32),
    ("configs/recognition/tsm_mbv2_jester_8f.py", dict(widen_factor=0.5), 32),
    ("configs/recognition/tsm_mbv2_jester_online.py", {}, 32),
]


@pytest.mark.parametrize("config,backbone,size", CASES, ids=[Path(c[0]).stem for c in CASES])
def test_online_steps_equal_offline_past_clip(config, backbone, size):
    net = _build(config, **backbone)
    g = torch.Generator().manual_seed(1)
    clip = torch.randn(2, T, 3, size, size, generator=g)  # (N, T, 3, H, W), already normalised
    with torch.no_grad():
        feats = net.backbone(clip.reshape(2 * T, 3, size, size))  # offline, past-only shift
        last = feats[-1] if isinstance(feats, (tuple, list)) else feats
        pooled = F.adaptive_avg_pool2d(last, 1).flatten(1)  # (N*T, C) before consensus
        offline = net.cls_head.fc_cls(pooled).reshape(2, T, -1)  # (N, T, K) per-frame logits
        clip_scores = net.clip_logits(clip)[0]  # (N, K) the consensus
        state = net.init_state(2, size, size)
        online = []
        for t in range(T):
            logits, state = net.step(clip[:, t], state)
            online.append(logits)
    online = torch.stack(online, dim=1)
    scale = max(1.0, float(offline.abs().max()))  # float error grows with depth and magnitude
    diff = float((online - offline).abs().max())
    assert diff <= 1e-5 * scale, (diff, scale)
    assert float((online.mean(dim=1) - clip_scores).abs().max()) <= 1e-5 * scale
    # the shift matters: frame t > 0 differs from running it with a zero state
    with torch.no_grad():
        alone, _ = net.step(clip[:, 3], net.init_state(2, size, size))
    assert float((alone - online[:, 3]).abs().max()) > 1e-3 * scale


def test_bidirectional_recognizer_refuses_online():
    cfg = Config.fromfile(str(ROOT / "configs/recognition/synthetic/tsm_r18_gestures.py"))
    model = cfg.model.to_dict()
    model["backbone"].update(init_cfg=None, shift_direction="bidirectional")
    net = MODELS.build(model).eval()
    with pytest.raises(ValueError, match="past"):
        net.init_state(1, 32, 32)


def test_tsn_twin_has_empty_state_and_steps():
    cfg = Config.fromfile(str(ROOT / "configs/recognition/synthetic/tsn_r18_gestures.py"))
    model = cfg.model.to_dict()
    model["backbone"]["init_cfg"] = None
    net = MODELS.build(model).eval()
    state = net.init_state(1, 32, 32)
    with torch.no_grad():
        logits, new_state = net.step(torch.randn(1, 3, 32, 32), state)
    assert logits.shape == (1, net.cls_head.num_classes)
    assert tuple(new_state) == tuple(state)
