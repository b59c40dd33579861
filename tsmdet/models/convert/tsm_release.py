"""Layouts of the original TSM release (mit-han-lab/temporal-shift-module), offline models.

A release checkpoint is ``{'epoch', 'arch', 'state_dict', 'best_prec1'}`` saved
from ``DataParallel(TSN)``: ``module.base_model.*`` is a torchvision ResNet or
the release's MobileNetV2 (``features.N.conv.M``), with the shift wrapper's
``.net`` inside shifted blocks; the classifier is ``module.new_fc.*`` when
trained with dropout, else the backbone's own last layer (``base_model.fc`` /
``base_model.classifier``). The release names its files after the settings
(``TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth``), the only
place ``num_segments`` and ``shift_div`` are recorded.
"""

from __future__ import annotations

import re
from pathlib import Path

from .common import Layout, regex_mapper

_HEAD = [(r"new_fc", "cls_head.fc_cls")]

TSM_RESNET = Layout(
    name="TSM release ResNet",
    source="tsm",
    arch="resnet",
    detect=lambda keys: any(k.startswith("base_model.layer1.") for k in keys),
    # torchvision and mmdet ResNets share their parameter names: only the prefixes change.
    map_module=regex_mapper(
        [
            (r"base_model\.(conv1|bn1)", r"backbone.\1"),
            (r"base_model\.(layer\d+(?:\.\d+(?:\.(?:conv\d|bn\d|downsample\.[01]))?)?)", r"backbone.\1"),
            (r"base_model\.fc", "cls_head.fc_cls"),
            *_HEAD,
        ]
    ),
)


def _mobilenet_v2_blocks() -> list[tuple[int, int, bool]]:
    """``features`` index 1.. -> (mmdet stage, 1-based; block index; has expand conv), from mmdet's table."""
    from mmdet.models.backbones import MobileNetV2

    table = []
    for stage, (expand_ratio, _, num_blocks, _) in enumerate(MobileNetV2.arch_settings, start=1):
        table += [(stage, i, expand_ratio != 1) for i in range(num_blocks)]
    return table


# Position in the release's ``conv`` Sequential -> mmdet InvertedResidual ConvModule + part.
_EXPANDED = {
    0: "expand_conv.conv",
    1: "expand_conv.bn",
    3: "depthwise_conv.conv",
    4: "depthwise_conv.bn",
    6: "linear_conv.conv",
    7: "linear_conv.bn",
}
_NOT_EXPANDED = {0: "depthwise_conv.conv", 1: "depthwise_conv.bn", 3: "linear_conv.conv", 4: "linear_conv.bn"}
_PART = {0: "conv", 1: "bn"}


def map_features_path(path: str, prefix: str = "base_model.") -> str | None:
    """torchvision-style MobileNetV2 ``features.N[.conv.M]`` -> mmdet ``MobileNetV2`` module path.

    ``features.0`` is the stem (conv, bn, relu6), ``features.1..17`` the inverted
    residuals, ``features.18`` the 1x1 conv to 1280 channels. Shared with the
    online demo's bare layout (same ``features``), which only differs in prefix.
    """
    if not path.startswith(prefix):
        return None
    m = re.fullmatch(r"features\.(\d+)(?:\.(conv)\.(\d+)|\.(\d+))?", path[len(prefix) :])
    if m is None:
        return None
    index, in_block, conv_pos, plain_pos = int(m[1]), m[2], m[3], m[4]
    blocks = _mobilenet_v2_blocks()
    if index == 0 or index == len(blocks) + 1:  # stem / last 1x1 conv: Sequential(conv, bn, relu6)
        name = "conv1" if index == 0 else "conv2"
        if in_block:
            return None
        if plain_pos is None:
            return f"backbone.{name}"
        part = _PART.get(int(plain_pos))
        return f"backbone.{name}.{part}" if part else None
    if not 1 <= index <= len(blocks) or plain_pos is not None:
        return None
    stage, block, expanded = blocks[index - 1]
    base = f"backbone.layer{stage}.{block}"
    if not in_block:
        return base
    sub = (_EXPANDED if expanded else _NOT_EXPANDED).get(int(conv_pos))
    return f"{base}.{sub}" if sub else None


def _map_mobilenet(path: str) -> str | None:
    if path in ("base_model.classifier", "new_fc"):
        return "cls_head.fc_cls"
    return map_features_path(path)


TSM_MOBILENET_V2 = Layout(
    name="TSM release MobileNetV2",
    source="tsm",
    arch="mobilenet_v2",
    detect=lambda keys: any(k.startswith("base_model.features.") for k in keys),
    map_module=_map_mobilenet,
)

# The online demo (online_demo/mobilenet_v2_tsm.py): a bare state_dict of its MobileNetV2
# (``features.N.conv.M.*``, ``classifier.*``) whose shift lives in code, not in a ``.net``
# wrapper: ``InvertedResidualWithShift`` at these ``features`` indices replaces the first
# c // 8 input channels of the residual branch with the previous frame's (past-only, online).
ONLINE_DEMO_SHIFTED_FEATURES = (3, 5, 6, 8, 9, 10, 12, 13, 15, 16)


def _map_online_demo(path: str) -> str | None:
    if path == "classifier":
        return "cls_head.fc_cls"
    return map_features_path(path, prefix="")


def _online_demo_sites() -> dict[str, str]:
    sites = {}
    for index in ONLINE_DEMO_SHIFTED_FEATURES:
        block = map_features_path(f"features.{index}", prefix="")
        assert block is not None  # a features index of mmdet's MobileNetV2 table
        sites[block[len("backbone.") :]] = "blockres"
    return sites


TSM_ONLINE_DEMO = Layout(
    name="TSM online demo MobileNetV2",
    source="tsm",
    arch="mobilenet_v2",
    detect=lambda keys: "classifier.weight" in keys and any(k.startswith("features.") for k in keys),
    map_module=_map_online_demo,
    implied_sites=_online_demo_sites,
    # BGR frames (OpenCV order kept) normalised with the RGB mean/std; one frame at a time
    settings=dict(shift_direction="past", bgr_to_rgb=False, shift_div=8, num_segments=8),
)

LAYOUTS = (TSM_RESNET, TSM_MOBILENET_V2, TSM_ONLINE_DEMO)


def settings_from_name(src: str | Path) -> dict:
    """``num_segments`` / ``shift_div`` / ``shift_place`` / ``temporal_pool`` from a release file name."""
    name = Path(src).name
    found: dict = {}
    if m := re.search(r"segment(\d+)", name):
        found["num_segments"] = int(m[1])
    if m := re.search(r"shift(\d+)", name):
        found["shift_div"] = int(m[1])
    if m := re.search(r"_(blockres|block)_", name):
        found["shift_place"] = m[1]
    if "_tpool" in name:
        found["temporal_pool"] = True
    return found
