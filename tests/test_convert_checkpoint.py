"""tools/convert_checkpoint.py: reference nets in the original layouts -> saved as their authors save
them -> converted -> loaded strictly into our Recognizer2D -> the same logits on the same frames."""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.runner import load_checkpoint

import tsmdet.models  # noqa: F401  (registers the classes)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import convert_checkpoint  # noqa: E402  (tools/convert_checkpoint.py)
import reference_recognition_nets as ref  # noqa: E402

MEAN01, STD01 = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


def bgr_clips(n: int, t: int, hw: int, seed: int = 0) -> torch.Tensor:
    """uint8 BGR frames, as the dataset hands them to the model: (N, T, 3, H, W)."""
    return torch.randint(
        0, 256, (n, t, 3, hw, hw), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8
    )


def reference_input(frames: torch.Tensor) -> torch.Tensor:
    """What the originals feed their nets: RGB in 0..1, ImageNet-normalised."""
    rgb = frames.flip(2).float() / 255
    return (rgb - MEAN01.view(1, 1, 3, 1, 1)) / STD01.view(1, 1, 3, 1, 1)


def our_logits(model: torch.nn.Module, frames: torch.Tensor) -> torch.Tensor:
    data = model.data_preprocessor(dict(inputs=list(frames), data_samples=None))
    with torch.no_grad():
        return model(data["inputs"], mode="tensor")


def save_tsm_release(net: torch.nn.Module, path: Path, arch: str) -> Path:
    """As the release's main.py saves a DataParallel TSN."""
    state = OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items())
    torch.save({"epoch": 45, "arch": arch, "state_dict": state, "best_prec1": 47.3}, path)
    return path


def save_mmaction2(net: torch.nn.Module, path: Path, num_segments: int) -> Path:
    cfg_text = (
        "model = dict(type='Recognizer2D', "
        f"backbone=dict(type='ResNetTSM', num_segments={num_segments}, shift_div=8))\n"
    )
    torch.save(
        {
            "meta": {"cfg": cfg_text, "mmengine_version": "0.10.7", "epoch": 50},
            "state_dict": net.state_dict(),
        },
        path,
    )
    return path


def write_config(tmp_path: Path, base: str, backbone: dict, head: dict) -> Path:
    path = tmp_path / "target_cfg.py"
    path.write_text(
        f"_base_ = [{str(ROOT / 'configs/_base_/models' / base)!r}]\n"
        f"model = dict(backbone=dict(**{backbone!r}), cls_head=dict(**{head!r}))\n"
    )
    return path


def convert(src: Path, dst: Path, source: str, *extra: str) -> int:
    return convert_checkpoint.main([str(src), str(dst), "--from", source, *extra])


def load_converted(dst: Path, config: Path | None = None) -> torch.nn.Module:
    ckpt = torch.load(dst, weights_only=True)
    if config is None:
        cfg = ckpt["meta"]["model_cfg"]
    else:
        from mmengine.config import Config

        cfg = Config.fromfile(str(config)).model
        cfg.backbone.init_cfg = None
    model = MODELS.build(cfg)
    load_checkpoint(model, str(dst), map_location="cpu", strict=True)
    return model.eval()


def assert_same_logits(
    net: torch.nn.Module, model: torch.nn.Module, frames: torch.Tensor, shifts: bool = True
) -> None:
    with torch.no_grad():
        expected = net(reference_input(frames))
        reversed_time = net(reference_input(frames.flip(1)))
    got = our_logits(model, frames)
    assert expected.std() > 0.1  # non-trivial logits
    if shifts:
        assert (expected - reversed_time).abs().max() > 1e-3  # the source net really uses time order
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def tsm_resnet(
    block: type, layers: list[int], t: int, dropout: float, place: str = "blockres", pool: bool = False
):
    base = ref.TVResNet(block, layers, width=8)
    ref.tsm_release_make_temporal_shift(base, t, 8, place, pool)
    return ref.randomize_(
        ref.TSMReleaseTSN(base, "fc", num_classes=7, dropout=dropout, num_segments=t, temporal_pool=pool)
    )


def test_tsm_release_resnet18_layout_auto_config_and_classes(tmp_path):
    net = tsm_resnet(ref.TVBasicBlock, [2, 2, 2, 2], t=4, dropout=0.0)  # head: base_model.fc
    src = save_tsm_release(
        net, tmp_path / "TSM_something_RGB_resnet18_shift8_blockres_avg_segment4_e45.pth", "resnet18"
    )
    classes = tmp_path / "category.txt"
    classes.write_text("\n".join(f"action {i}" for i in range(7)) + "\n")
    assert convert(src, tmp_path / "out.pth", "tsm", "--classes", str(classes)) == 0
    model = load_converted(tmp_path / "out.pth")
    assert_same_logits(net, model, bgr_clips(2, 4, 32))
    meta = torch.load(tmp_path / "out.pth", weights_only=True)["meta"]
    assert meta["classes"] == [f"action {i}" for i in range(7)]
    assert (meta["num_segments"], meta["shift_div"], meta["shift_place"], meta["shift_direction"]) == (
        4,
        8,
        "blockres",
        "bidirectional",
    )
    assert meta["channel_order"] == "rgb" and meta["mean"] == pytest.approx([123.675, 116.28, 103.53])
    assert meta["std"] == pytest.approx([58.395, 57.12, 57.375])


def test_tsm_release_resnet50_new_fc_into_config(tmp_path):
    net = tsm_resnet(ref.TVBottleneck, [3, 4, 6, 3], t=4, dropout=0.5)  # head: new_fc
    src = save_tsm_release(
        net, tmp_path / "TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment4_e50.pth", "resnet50"
    )
    cfg = write_config(
        tmp_path,
        "tsm_r50_recognizer.py",
        dict(base_channels=8, num_segments=4, init_cfg=None),
        dict(num_classes=7, in_channels=256),
    )
    assert convert(src, tmp_path / "out.pth", "tsm", "--config", str(cfg)) == 0
    assert_same_logits(net, load_converted(tmp_path / "out.pth", cfg), bgr_clips(1, 4, 64))


def test_tsm_release_temporal_pool_and_block_place(tmp_path):
    for place in ("blockres", "block"):
        net = tsm_resnet(ref.TVBasicBlock, [2, 2, 2, 2], t=4, dropout=0.5, place=place, pool=True)
        src = save_tsm_release(
            net, tmp_path / f"TSM_something_RGB_resnet18_shift8_{place}_avg_segment4_e45.pth", "resnet18"
        )
        assert convert(src, tmp_path / "out.pth", "tsm") == 0
        model = load_converted(tmp_path / "out.pth")
        assert model.backbone.temporal_pool and model.backbone.shift_place == place
        assert_same_logits(net, model, bgr_clips(2, 4, 32, seed=1))


def test_tsm_release_resnet101_shifts_every_other_block(tmp_path, capsys):
    net = tsm_resnet(ref.TVBottleneck, [3, 4, 23, 3], t=2, dropout=0.5)  # the release's n_round = 2 rule
    src = save_tsm_release(
        net, tmp_path / "TSM_something_RGB_resnet101_shift8_blockres_avg_segment2_e45.pth", "resnet101"
    )
    assert convert(src, tmp_path / "out.pth", "tsm") == 0
    model = load_converted(tmp_path / "out.pth")
    assert model.backbone.depth == 101 and len(model.backbone.shifts) == 2 + 2 + 12 + 2
    assert_same_logits(net, model, bgr_clips(1, 2, 32))
    # a config that shifts every block loads the same weights strictly, but is a different network: refused
    cfg = write_config(
        tmp_path,
        "tsm_r50_recognizer.py",
        dict(depth=101, base_channels=8, num_segments=2, init_cfg=None),
        dict(num_classes=7, in_channels=256),
    )
    assert convert(src, tmp_path / "wrong.pth", "tsm", "--config", str(cfg)) == 2
    err = capsys.readouterr().err
    assert "shift at backbone.layer1.1: checkpoint none vs model blockres" in err
    assert "shift at backbone.layer3.21: checkpoint none vs model blockres" in err
    assert not (tmp_path / "wrong.pth").exists()


def test_tsm_release_tsn_without_shift(tmp_path):
    base = ref.TVResNet(ref.TVBasicBlock, [2, 2, 2, 2], width=8)  # the release's TSN: no make_temporal_shift
    net = ref.randomize_(ref.TSMReleaseTSN(base, "fc", num_classes=7, dropout=0.5, num_segments=4))
    src = save_tsm_release(net, tmp_path / "TSN_something_RGB_resnet18_avg_segment4_e45.pth", "resnet18")
    assert convert(src, tmp_path / "out.pth", "tsm") == 0
    model = load_converted(tmp_path / "out.pth")
    assert len(model.backbone.shifts) == 0
    assert_same_logits(net, model, bgr_clips(2, 4, 32), shifts=False)


@pytest.mark.parametrize("dropout", [0.0, 0.5])  # head: base_model.classifier / new_fc
def test_tsm_release_mobilenet_v2(tmp_path, dropout):
    base = ref.TSMMobileNetV2Ref()
    ref.tsm_release_shift_mobilenet(base, 4, 8)
    net = ref.randomize_(
        ref.TSMReleaseTSN(base, "classifier", num_classes=7, dropout=dropout, num_segments=4)
    )
    src = save_tsm_release(
        net, tmp_path / "TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment4_e100.pth", "mobilenetv2"
    )
    assert convert(src, tmp_path / "out.pth", "tsm") == 0
    model = load_converted(tmp_path / "out.pth")
    assert type(model.backbone).__name__ == "TSMMobileNetV2" and len(model.backbone.shifts) == 10
    assert_same_logits(net, model, bgr_clips(1, 4, 64))


@pytest.mark.parametrize("layers", [[3, 4, 6, 3], None], ids=["ResNetTSM-50", "MobileNetV2TSM"])
def test_mmaction2(tmp_path, layers):
    net = ref.randomize_(ref.MMRecognizerRef(layers, width=8, num_classes=5, num_segments=4))
    src = save_mmaction2(net, tmp_path / "tsm_mmaction2.pth", num_segments=4)
    assert convert(src, tmp_path / "out.pth", "mmaction2") == 0
    model = load_converted(tmp_path / "out.pth")
    assert model.num_segments == 4
    assert len(model.backbone.shifts) == (16 if layers else 10)
    assert_same_logits(net, model, bgr_clips(1, 4, 64))


def test_bad_keys_are_all_listed(tmp_path, capsys):
    net = tsm_resnet(ref.TVBasicBlock, [2, 2, 2, 2], t=4, dropout=0.0)
    state = OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items())
    state["module.base_model.nonlocal1.weight"] = torch.zeros(3)
    state["module.extra_head.bias"] = torch.zeros(2)
    state["module.base_model.layer2.0.conv2.weight"] = torch.zeros(16, 16, 5, 5)
    state["module.base_model.fc.weight"] = torch.zeros(9, 64)
    del state["module.base_model.layer4.1.bn2.running_var"]
    src = tmp_path / "TSM_x_resnet18_shift8_blockres_avg_segment4.pth"
    torch.save({"epoch": 1, "arch": "resnet18", "state_dict": state, "best_prec1": 0.0}, src)
    cfg = write_config(
        tmp_path,
        "tsm_r50_recognizer.py",
        dict(depth=18, base_channels=8, num_segments=4, init_cfg=None),
        dict(num_classes=7, in_channels=64),
    )
    assert convert(src, tmp_path / "out.pth", "tsm", "--config", str(cfg)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {src}")
    for needle in (
        "unmatched source key 'base_model.nonlocal1.weight'",
        "unmatched source key 'extra_head.bias'",
        "shape mismatch 'backbone.layer2.0.conv2.weight': checkpoint (16, 16, 5, 5) vs model (16, 16, 3, 3)",
        "shape mismatch 'cls_head.fc_cls.weight': checkpoint (9, 64) vs model (7, 64)",
        "missing key 'backbone.layer4.1.bn2.running_var'",
        "5 problem(s)",
    ):
        assert needle in err
    assert not (tmp_path / "out.pth").exists()


class NotATensor:  # any picklable object: a real attack would run code in __reduce__
    pass


def test_pickled_object_is_refused(tmp_path, capsys):
    net = tsm_resnet(ref.TVBasicBlock, [2, 2, 2, 2], t=4, dropout=0.0)
    src = tmp_path / "evil.pth"
    torch.save({"state_dict": net.state_dict(), "payload": NotATensor()}, src)
    assert convert(src, tmp_path / "out.pth", "tsm") == 2
    err = capsys.readouterr().err
    assert "refusing to load" in err and str(src) in err
    assert not (tmp_path / "out.pth").exists()


def test_wrong_source_format_is_named(tmp_path, capsys):
    net = ref.randomize_(ref.MMRecognizerRef([3, 4, 6, 3], width=8, num_classes=5, num_segments=4))
    src = save_mmaction2(net, tmp_path / "mm.pth", num_segments=4)
    assert convert(src, tmp_path / "out.pth", "tsm") == 2
    err = capsys.readouterr().err
    assert "matches 0 of the --from tsm layouts" in err and "also a --from mmaction2 checkpoint?" in err
