"""Layouts of MMAction2 1.x TSM checkpoints (Recognizer2D: ResNetTSM / MobileNetV2TSM, TSMHead).

An mmengine checkpoint ``{'meta', 'state_dict', ...}``: ``backbone.*`` uses mmcv
``ConvModule`` naming (``conv1.conv``, ``conv1.bn``; ``downsample.conv/bn``),
the shift wraps ``convK.conv`` as ``.net``; the head is ``cls_head.fc_cls``
(the same name as ours). ``meta`` holds the training config as text, from
which ``num_segments`` and ``shift_div`` are read.
"""

from __future__ import annotations

import re

from .common import Layout, regex_mapper

MMACTION2_RESNET = Layout(
    name="MMAction2 ResNetTSM",
    source="mmaction2",
    arch="resnet",
    detect=lambda keys: any(k.startswith("backbone.layer1.0.conv1.") for k in keys),
    map_module=regex_mapper(
        [
            (r"backbone\.conv1\.conv", "backbone.conv1"),
            (r"backbone\.conv1\.bn", "backbone.bn1"),
            (r"backbone\.(layer\d+\.\d+)\.conv(\d)(?:\.conv)?", r"backbone.\1.conv\2"),
            (r"backbone\.(layer\d+\.\d+)\.conv(\d)\.bn", r"backbone.\1.bn\2"),
            (r"backbone\.(layer\d+\.\d+)\.downsample\.conv", r"backbone.\1.downsample.0"),
            (r"backbone\.(layer\d+\.\d+)\.downsample\.bn", r"backbone.\1.downsample.1"),
            (r"backbone\.(layer\d+(?:\.\d+)?)", r"backbone.\1"),
            (r"cls_head\.fc_cls", "cls_head.fc_cls"),
        ]
    ),
)

# MobileNetV2TSM: ``layerI.J.conv`` = Sequential(ConvModule expand?, depthwise, linear); the
# shift wraps the whole ``conv.0`` ConvModule (``conv.0.net.conv.weight``).
_EXPANDED = ("expand_conv", "depthwise_conv", "linear_conv")
_NOT_EXPANDED = ("depthwise_conv", "linear_conv")


def _map_mobilenet(path: str) -> str | None:
    if path == "cls_head.fc_cls":
        return path
    if m := re.fullmatch(r"backbone\.(conv1|conv2)(?:\.(conv|bn))?", path):
        return f"backbone.{m[1]}" + (f".{m[2]}" if m[2] else "")
    m = re.fullmatch(r"backbone\.layer(\d+)\.(\d+)(?:\.conv\.(\d+)(?:\.(conv|bn))?)?", path)
    if m is None:
        return None
    base = f"backbone.layer{m[1]}.{m[2]}"
    if m[3] is None:
        return base
    names = _NOT_EXPANDED if m[1] == "1" else _EXPANDED  # stage 1 has expand ratio 1 (mmdet's arch table too)
    pos = int(m[3])
    if pos >= len(names):
        return None
    return f"{base}.{names[pos]}" + (f".{m[4]}" if m[4] else "")


MMACTION2_MOBILENET_V2 = Layout(
    name="MMAction2 MobileNetV2TSM",
    source="mmaction2",
    arch="mobilenet_v2",
    detect=lambda keys: any(k.startswith("backbone.layer1.0.conv.0.") for k in keys),
    map_module=_map_mobilenet,
)

LAYOUTS = (MMACTION2_RESNET, MMACTION2_MOBILENET_V2)


def settings_from_meta(extra: dict) -> dict:
    """``num_segments`` / ``shift_div`` / ``average_clips`` from the config text stored in ``meta``."""
    meta = extra.get("meta") or {}
    text = meta.get("cfg") or meta.get("config") or ""
    if not isinstance(text, str):
        return {}
    found: dict = {}
    for key in ("num_segments", "shift_div"):
        if m := re.search(rf"\b{key}\s*=\s*(\d+)", text):
            found[key] = int(m[1])
    if m := re.search(r"\baverage_clips\s*=\s*['\"](\w+)['\"]", text):
        found["average_clips"] = m[1]
    if re.search(r"\btemporal_pool\s*=\s*True", text):
        found["temporal_pool"] = True
    return found
