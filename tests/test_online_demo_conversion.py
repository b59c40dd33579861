"""The TSM online demo's checkpoint converts and runs online with the demo network's per-frame logits.

The reference below is written from the demo's documented layout (online_demo/mobilenet_v2_tsm.py of
mit-han-lab/temporal-shift-module, /work/shared/reference/RECOGNITION.md): plain torch, its own shift
buffers, passed in and returned explicitly. Nothing of tsmdet is used to build it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one OpenMP thread
CONFIG = ROOT / "configs/recognition/tsm_mbv2_jester_online.py"
SHIFTED = (3, 5, 6, 8, 9, 10, 12, 13, 15, 16)  # features indices of the demo's shifted blocks
SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1)]  # (expand t, channels c, blocks n, stride s) of MobileNetV2


def conv_bn(inp: int, oup: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, k, stride, k // 2, bias=False), nn.BatchNorm2d(oup),
                         nn.ReLU6(True))


class DemoInvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, t: int, shift: bool) -> None:
        super().__init__()
        hidden = inp * t
        self.shift = shift
        self.use_res = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if t != 1:
            layers += [nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(True), nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor, buffer: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if not self.shift:
            return (x + self.conv(x) if self.use_res else self.conv(x)), None
        c = x.size(1)
        x1, x2 = x[:, : c // 8], x[:, c // 8 :]  # the first c // 8 channels come from the previous frame
        return x + self.conv(torch.cat((buffer, x2), dim=1)), x1


class DemoMobileNetV2(nn.Module):
    """The demo's network: ``forward(x, *buffers) -> (logits, *new_buffers)``."""

    def __init__(self, n_class: int = 27) -> None:
        super().__init__()
        features: list[nn.Module] = [conv_bn(3, 32, 3, 2)]
        inp = 32
        for t, c, n, s in SETTING:
            for i in range(n):
                features.append(DemoInvertedResidual(inp, c, s if i == 0 else 1, t, len(features) in SHIFTED))
                inp = c
        features.append(conv_bn(inp, 1280, 1, 1))
        self.features = nn.ModuleList(features)
        self.classifier = nn.Linear(1280, n_class)

    def buffer_shapes(self, h: int, w: int) -> list[tuple[int, ...]]:
        shapes, x = [], torch.zeros(1, 3, h, w)
        with torch.no_grad():
            for f in self.features:
                if isinstance(f, DemoInvertedResidual) and f.shift:
                    shapes.append((x.shape[1] // 8, *x.shape[2:]))
                    x = f(x, torch.zeros(1, x.shape[1] // 8, *x.shape[2:]))[0]
                else:
                    x = f(x)[0] if isinstance(f, DemoInvertedResidual) else f(x)
        return shapes

    def forward(self, x: Tensor, *buffers: Tensor) -> tuple[Tensor, ...]:
        out, i = [], 0
        for f in self.features:
            if isinstance(f, DemoInvertedResidual) and f.shift:
                x, b = f(x, buffers[i])
                out.append(b)
                i += 1
            elif isinstance(f, DemoInvertedResidual):
                x = f(x)[0]
            else:
                x = f(x)
        return (self.classifier(x.mean(3).mean(2)), *out)


def _random_demo() -> DemoMobileNetV2:
    torch.manual_seed(0)
    net = DemoMobileNetV2().eval()
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    nn.init.normal_(net.classifier.weight, std=0.05)
    return net


DOCUMENTED_224 = [(3, 56, 56), (4, 28, 28), (4, 28, 28), (8, 14, 14), (8, 14, 14), (8, 14, 14),
                  (12, 14, 14), (12, 14, 14), (20, 7, 7), (20, 7, 7)]


def test_reference_matches_documented_buffer_shapes():
    assert DemoMobileNetV2().buffer_shapes(224, 224) == DOCUMENTED_224


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import convert_checkpoint  # tools/convert_checkpoint.py

    tmp = tmp_path_factory.mktemp("demo")
    demo = _random_demo()
    src = tmp / "mobilenetv2_jester_online.pth.tar"
    torch.save(demo.state_dict(), src)  # a bare state_dict, as the demo ships it
    out = {}
    for name, extra in (("config", ["--config", str(CONFIG)]), ("read_off", [])):
        dst = tmp / f"{name}.pth"
        assert convert_checkpoint.main([str(src), str(dst), "--from", "tsm", *extra]) == 0
        out[name] = dst
    return demo, out


def _load(dst: Path, model_cfg: dict):
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    import tsmdet.models  # noqa: F401
    from tsmdet.utils.checkpoint import register_safe_loader

    register_safe_loader()
    model = MODELS.build(model_cfg).eval()
    load_checkpoint(model, str(dst), map_location="cpu", strict=True, logger="silent")
    return model


@pytest.mark.parametrize("how", ["config", "read_off"])
def test_converted_demo_gives_the_demo_logits_online(converted, how):
    demo, paths = converted
    ckpt = torch.load(paths[how], map_location="cpu", weights_only=False)
    meta = ckpt["meta"]
    assert meta["channel_order"] == "bgr" and meta["shift_direction"] == "past"
    assert meta["converted_from"]["layout"] == "TSM online demo MobileNetV2"
    if how == "config":
        assert len(meta["classes"]) == 27 and meta["classes"][2] == "No gesture"
    model = _load(paths[how], meta["model_cfg"])
    assert model.data_preprocessor.bgr_to_rgb is False
    h = w = 64  # shapes scale with the input; 224 is checked once below
    state = model.init_state(1, h, w)
    buffers = [torch.zeros(1, *s) for s in demo.buffer_shapes(h, w)]
    assert [tuple(s.shape[1:]) for s in state] == [tuple(b.shape[1:]) for b in buffers]
    g = torch.Generator().manual_seed(3)
    base = torch.randn(1, 3, h, w, generator=g)
    max_diff = 0.0
    with torch.no_grad():
        for t in range(24):
            frame = base + 0.5 * torch.randn(1, 3, h, w, generator=g)  # BGR, already normalised
            ref, *buffers = demo(frame, *buffers)
            ours, state = model.step(frame, state)
            max_diff = max(max_diff, float((ref - ours).abs().max()))
            for b, s in zip(buffers, state):
                assert torch.allclose(b, s, atol=1e-4, rtol=1e-4)
    assert max_diff < 1e-4, max_diff
    assert float(ref.abs().max()) > 0.1  # logits that are not all ~0


def test_converted_demo_state_shapes_at_224(converted):
    _, paths = converted
    meta = torch.load(paths["config"], map_location="cpu", weights_only=False)["meta"]
    model = _load(paths["config"], meta["model_cfg"])
    assert [tuple(s.shape[1:]) for s in model.init_state(1, 224, 224)] == DOCUMENTED_224


def test_config_reproduces_the_demo_settings():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.model.backbone.shift_direction == "past" and cfg.model.backbone.shift_div == 8
    assert cfg.model.data_preprocessor.bgr_to_rgb is False
    assert cfg.preprocess["channel_order"] == "BGR" and tuple(cfg.preprocess["input_size"]) == (224, 224)
    assert cfg.smoothing["masked"] == [7, 8, 21, 22, 3] and cfg.smoothing["fold"] == {0: 2}
    assert len(cfg.classes) == 27
