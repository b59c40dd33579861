"""TSM backbones: online == offline, mmdet contract, pretrained loading, registry build, ONNX export."""
import logging

import numpy as np
import pytest
import torch

import tsmdet.models  # noqa: F401  (registers the backbones)
from mmdet.registry import MODELS

# Every TSM backbone tsmdet registers, each with a small configuration for CPU tests.
SMALL = {
    "TSMResNet": [dict(depth=18), dict(depth=50, shift_every=2)],
    "TSMMobileNetV2": [dict(widen_factor=0.5), dict(widen_factor=0.5, num_shift_blocks=3)],
}


def test_every_registered_tsm_backbone_is_covered():
    from tsmdet.models.backbones.online_shift import OnlineShiftMixin

    registered = {name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, OnlineShiftMixin)}
    assert registered == set(SMALL), "add the new backbone to SMALL so it is tested"


def _build(name: str, cfg: dict, **kw):
    torch.manual_seed(0)
    return MODELS.build(dict(type=name, **cfg, **kw)).eval()


CASES = [(name, cfg) for name, cfgs in SMALL.items() for cfg in cfgs]


@pytest.mark.parametrize("name,cfg", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("place", ["blockres", "block"])
@pytest.mark.parametrize("num_segments", [1, 3, 4])
def test_online_equals_offline_past(name, cfg, place, num_segments):
    net = _build(name, cfg, num_segments=num_segments, shift_place=place, shift_direction="past")
    n, h, w = 2, 64, 48
    clips = torch.randn(n, num_segments, 3, h, w)
    with torch.no_grad():
        offline = net(clips.reshape(n * num_segments, 3, h, w))
        offline = [f.reshape(n, num_segments, *f.shape[1:]) for f in offline]
        state = net.init_state(n, h, w)
        for t in range(num_segments):
            feats, state = net(clips[:, t], state)
            for level, f in enumerate(feats):
                torch.testing.assert_close(f, offline[level][:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,cfg", CASES, ids=lambda v: str(v))
def test_state_contract(name, cfg):
    net = _build(name, cfg, num_segments=2, shift_direction="past")
    state = net.init_state(3, 64, 48)
    assert isinstance(state, tuple) and len(state) == len(net.shifts) > 0
    assert all(s.shape[0] == 3 and not s.any() for s in state)
    _, new_state = net(torch.randn(3, 3, 64, 48), state)
    assert [s.shape for s in new_state] == [s.shape for s in state]
    with pytest.raises(ValueError, match="state tensors"):
        net(torch.randn(3, 3, 64, 48), state[:-1])


def test_shift_every_other_block_halves_state():
    every = _build("TSMResNet", dict(depth=50), shift_every=1)
    other = _build("TSMResNet", dict(depth=50), shift_every=2)
    assert len(every.shifts) == 16 and len(other.shifts) == 2 + 2 + 3 + 2


def test_parameters_equal_mmdet_resnet50():
    from mmdet.models.backbones import ResNet

    tsm = MODELS.build(dict(type="TSMResNet", depth=50, num_segments=8))
    plain = ResNet(depth=50)
    assert sum(p.numel() for p in tsm.parameters()) == sum(p.numel() for p in plain.parameters())
    assert tsm.state_dict().keys() == plain.state_dict().keys()


def test_frozen_stages_and_norm_eval():
    net = MODELS.build(dict(type="TSMResNet", depth=18, frozen_stages=1, norm_eval=True))
    net.train()
    assert not any(p.requires_grad for p in net.layer1.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())
    assert not net.layer3[0].bn1.training


def test_torchvision_resnet50_checkpoint_loads(tmp_path, caplog):
    """A torchvision ResNet-50 state dict loads through init_cfg Pretrained; every backbone weight arrives."""
    import torchvision

    src = torchvision.models.resnet50().state_dict()
    ckpt = tmp_path / "resnet50_tv.pth"
    torch.save(src, ckpt)
    net = MODELS.build(
        dict(type="TSMResNet", depth=50, num_segments=4, init_cfg=dict(type="Pretrained", checkpoint=str(ckpt)))
    )
    with caplog.at_level(logging.WARNING):
        net.init_weights()
    loaded = net.state_dict()
    missing = [k for k in loaded if k not in src]
    unexpected = sorted(k for k in src if k not in loaded)
    assert missing == []
    assert unexpected == ["fc.bias", "fc.weight"]  # the classifier, which a detection backbone has no use for
    for key, value in loaded.items():
        assert torch.equal(value, src[key]), key
    assert "missing keys" not in caplog.text


def test_backbone_and_fpn_build_from_config():
    cfg = dict(
        backbone=dict(type="TSMResNet", depth=18, num_segments=2, out_indices=(0, 1, 2, 3), shift_direction="past"),
        neck=dict(type="FPN", in_channels=[64, 128, 256, 512], out_channels=32, num_outs=5),
    )
    backbone, neck = MODELS.build(cfg["backbone"]).eval(), MODELS.build(cfg["neck"]).eval()
    with torch.no_grad():
        outs = neck(backbone(torch.randn(4, 3, 64, 64)))
    assert len(outs) == 5 and all(o.shape[:2] == (4, 32) for o in outs)


@pytest.mark.parametrize("name,cfg", [CASES[0], CASES[2]], ids=["resnet18", "mobilenetv2"])
def test_online_backbone_onnx_parity(tmp_path, name, cfg):
    import onnxruntime as ort

    from tsmdet.deploy.onnx_utils import export_online

    net = _build(name, cfg, num_segments=1, shift_direction="past")
    h, w = 64, 96
    state = net.init_state(1, h, w)

    class Wrapper(torch.nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, image, *states):
            feats, new_state = self.backbone(image, states)
            return (*feats, *new_state)

    num_feats = len(net.out_indices)
    path = tmp_path / "backbone.onnx"
    export_online(Wrapper(net), torch.zeros(1, 3, h, w), state, [f"feat_{i}" for i in range(num_feats)], path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = [i.name for i in sess.get_inputs()]
    outputs = [o.name for o in sess.get_outputs()]
    assert inputs == ["image"] + [f"state_{i}" for i in range(len(state))]
    assert outputs[num_feats:] == [f"state_out_{i}" for i in range(len(state))]

    torch.manual_seed(1)
    ort_state = [s.numpy() for s in state]
    for _ in range(5):
        frame = torch.randn(1, 3, h, w)
        with torch.no_grad():
            feats, state = net(frame, state)
        res = sess.run(None, {"image": frame.numpy(), **{f"state_{i}": s for i, s in enumerate(ort_state)}})
        for i, f in enumerate(feats):
            np.testing.assert_allclose(res[i], f.numpy(), rtol=1e-4, atol=1e-4)
        ort_state = res[num_feats:]
        for a, b in zip(ort_state, state):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-4)
