"""A recognizer config read off a converted state dict, for conversions without ``--config``.

Depth, block type, stem width, classes and head width are in the tensors' shapes;
where the source shifted is in its wrappers (:class:`ShiftSites`); only
``num_segments`` and ``shift_div`` must come from elsewhere (file name, stored
config, or the paper's defaults 8 / 8 with a warning).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from torch import Tensor

from .common import ConversionError, ShiftSites

logger = logging.getLogger(__name__)

DEFAULTS = dict(num_segments=8, shift_div=8)


def _resnet_backbone(state: Mapping[str, Tensor], sites: ShiftSites) -> dict:
    from mmdet.models.backbones import ResNet

    blocks_per_stage: dict[int, set[int]] = {}
    for key in state:
        if m := re.match(r"backbone\.layer(\d+)\.(\d+)\.", key):
            blocks_per_stage.setdefault(int(m[1]), set()).add(int(m[2]))
    stage_blocks = tuple(len(blocks_per_stage[s]) for s in sorted(blocks_per_stage))
    bottleneck = any(".conv3." in k for k in state)
    depth = next(
        (
            d
            for d, (block, blocks) in ResNet.arch_settings.items()
            if tuple(blocks) == stage_blocks and (block.__name__ == "Bottleneck") == bottleneck
        ),
        None,
    )
    if depth is None:
        raise ConversionError(
            "cannot tell the ResNet depth", [f"stage blocks {stage_blocks}, bottleneck={bottleneck}"]
        )
    places = set(sites.blocks.values())
    if len(places) > 1:
        raise ConversionError("mixed shift places", [f"{b}: {p}" for b, p in sorted(sites.blocks.items())])
    shift_place = places.pop() if places else "blockres"
    stages = sorted({int(b.split(".")[0][len("layer") :]) - 1 for b in sites.blocks})
    every = next(
        (e for e in (1, 2, 3, 4) if _resnet_sites(stage_blocks, stages, e) == set(sites.blocks)), None
    )
    if every is None:
        raise ConversionError("the shifted blocks follow no shift_every pattern", sorted(sites.blocks))
    return dict(
        type="TSMResNet",
        depth=depth,
        base_channels=state["backbone.conv1.weight"].shape[0],
        stem_channels=state["backbone.conv1.weight"].shape[0],
        shift_place=shift_place,
        shift_every=every,
        shift_stages=tuple(stages),
        temporal_pool=bool(sites.pooled),
        out_indices=(len(stage_blocks) - 1,),
    )


def _resnet_sites(stage_blocks: tuple[int, ...], stages: list[int], every: int) -> set[str]:
    return {f"layer{s + 1}.{i}" for s in stages for i in range(stage_blocks[s]) if i % every == 0}


def _mobilenet_backbone(sites: ShiftSites) -> dict:
    places = set(sites.blocks.values())
    return dict(
        type="TSMMobileNetV2",
        shift_place=places.pop() if len(places) == 1 else "blockres",
        widen_factor=1.0,
        out_indices=(7,),
    )


def recognizer_cfg(arch: str, state: Mapping[str, Tensor], sites: ShiftSites, settings: Mapping) -> dict:
    """The ``model`` config whose state dict ``state`` is (checked afterwards by a strict load)."""
    fc = state.get("cls_head.fc_cls.weight")
    if fc is None:
        raise ConversionError("the checkpoint has no classifier", ["no key maps to cls_head.fc_cls.weight"])
    for key, value in DEFAULTS.items():
        if key not in settings:
            logger.warning(
                "%s is not recorded in the checkpoint or its file name; assuming %s (set it with --config)",
                key,
                value,
            )
    backbone = _resnet_backbone(state, sites) if arch == "resnet" else _mobilenet_backbone(sites)
    backbone.update(
        num_segments=settings.get("num_segments", DEFAULTS["num_segments"]),
        shift_div=settings.get("shift_div", DEFAULTS["shift_div"]),
        shift_direction=settings.get("shift_direction", "bidirectional"),
        init_cfg=None,
    )
    return dict(
        type="Recognizer2D",
        data_preprocessor=dict(
            type="ActionDataPreprocessor", bgr_to_rgb=bool(settings.get("bgr_to_rgb", True))
        ),
        backbone=backbone,
        cls_head=dict(
            type="TSMHead",
            num_classes=fc.shape[0],
            in_channels=fc.shape[1],
            average_clips=settings.get("average_clips", "score"),
        ),
    )
