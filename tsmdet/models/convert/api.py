"""Convert a TSM-release or MMAction2 checkpoint into a tsmdet recognizer checkpoint.

Steps: load with the safe loader (no arbitrary pickle) -> unwrap -> pick the
layout by its keys -> rename every key, read where the source shifted -> build
the target recognizer (from ``config``, or read off the weights) -> check every
key, shape and shift position -> save ``{'state_dict', 'meta'}`` -> prove it by
``mmengine.runner.load_checkpoint(strict=True)`` into a fresh recognizer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from tsmdet.utils.checkpoint import load_checkpoint_file

from . import mmaction2, tsm_release
from .common import (
    ConversionError,
    Layout,
    ShiftSites,
    cast_like,
    check_against_model,
    map_state_dict,
    unwrap_state_dict,
)
from .model_cfg import recognizer_cfg

logger = logging.getLogger(__name__)

LAYOUTS: dict[str, tuple[Layout, ...]] = {"tsm": tsm_release.LAYOUTS, "mmaction2": mmaction2.LAYOUTS}
SOURCES = tuple(LAYOUTS)


def detect_layout(keys: Sequence[str], source: str, src: str = "checkpoint") -> Layout:
    """The one layout of ``source`` whose keys these are (ResNet vs MobileNetV2 is told from the keys)."""
    if source not in LAYOUTS:
        raise ValueError(f"unknown source {source!r}; choose from {SOURCES}")
    matches = [layout for layout in LAYOUTS[source] if layout.detect(list(keys))]
    if len(matches) != 1:
        names = ", ".join(layout.name for layout in LAYOUTS[source])
        sample = ", ".join(list(keys)[:5])
        raise ConversionError(
            f"{src} matches {len(matches)} of the --from {source} layouts ({names})",
            [f"first keys: {sample}"]
            + ([f"also a --from {s} checkpoint?" for s in SOURCES if s != source] if not matches else []),
        )
    return matches[0]


def _build(model_cfg: Mapping) -> nn.Module:
    from mmdet.registry import MODELS

    import tsmdet.models  # noqa: F401  (registers the recognizer classes)

    return MODELS.build(dict(model_cfg)).eval()


def _load_config(config: str | os.PathLike) -> tuple[dict, list[str] | None]:
    from mmengine.config import Config

    cfg = Config.fromfile(str(config))
    if "model" not in cfg:
        raise ConversionError(f"{config} has no model", ["no top-level 'model' in the config"])
    model = cfg.model.to_dict()
    model.get("backbone", {})["init_cfg"] = None  # never download pretrained weights we overwrite anyway
    classes = cfg.get("classes")
    if classes is None:
        for loader in ("test_dataloader", "val_dataloader", "train_dataloader"):
            metainfo = (cfg.get(loader) or {}).get("dataset", {}).get("metainfo") or {}
            if metainfo.get("classes"):
                classes = metainfo["classes"]
                break
    return model, list(classes) if classes else None


def _meta(
    model: nn.Module,
    model_cfg: Mapping,
    classes: list[str] | None,
    layout: Layout,
    src: Path,
    sites: ShiftSites,
) -> dict:
    backbone, head = model.backbone, model.cls_head
    pre = model_cfg.get("data_preprocessor") or {}
    prep = model.data_preprocessor
    if classes is not None and len(classes) != head.num_classes:
        raise ConversionError(
            "class names do not fit the classifier", [f"{len(classes)} names for {head.num_classes} classes"]
        )
    return dict(
        classes=classes,
        num_classes=head.num_classes,
        num_segments=model.num_segments,
        shift_div=getattr(backbone, "shift_div", None),
        shift_place=getattr(backbone, "shift_place", None),
        shift_direction=getattr(backbone, "shift_direction", None),
        temporal_pool=bool(sites.pooled),
        average_clips=head.average_clips,
        mean=[float(v) for v in prep.mean.flatten()],
        std=[float(v) for v in prep.std.flatten()],
        channel_order="rgb" if pre.get("bgr_to_rgb", True) else "bgr",
        input_format="uint8 BGR frames; mean/std on 0..255, after the flip to RGB if channel_order is 'rgb'",
        converted_from=dict(file=src.name, source=layout.source, layout=layout.name),
        model_cfg=dict(model_cfg),
    )


def convert_checkpoint(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    source: str,
    config: str | os.PathLike | None = None,
    classes: Sequence[str] | None = None,
) -> Path:
    """Convert ``src`` (a ``--from source`` checkpoint) to ``dst``; returns ``dst``.

    Raises :class:`ConversionError` listing every unmatched, missing,
    unexpected or mis-shaped key and every shift-position disagreement, and
    :class:`tsmdet.utils.checkpoint.UnsafeCheckpointError` for a file holding
    pickled objects outside the allow-list.
    """
    src, dst = Path(src), Path(dst)
    state, extra = unwrap_state_dict(load_checkpoint_file(src), str(src))
    layout = detect_layout(list(state), source, str(src))
    mapped, sites, problems = map_state_dict(state, layout)
    logger.info("%s: %s layout, %d tensors, %s", src, layout.name, len(mapped), sites.describe())
    settings = tsm_release.settings_from_name(src) if source == "tsm" else mmaction2.settings_from_meta(extra)
    settings = {**settings, **layout.settings}  # what the format itself fixes wins over a file name
    if config is not None:
        model_cfg, cfg_classes = _load_config(config)
        what = f"the recognizer of {config}"
    else:
        try:
            model_cfg, cfg_classes = recognizer_cfg(layout.arch, mapped, sites, settings), None
        except ConversionError as err:
            raise ConversionError(
                f"{src} does not fit the {layout.name} layout", problems + err.problems
            ) from None
        what = "the recognizer read off its weights"
    model = _build(model_cfg)
    for key in ("num_segments", "shift_div"):
        ours = model.num_segments if key == "num_segments" else getattr(model.backbone, key, None)
        if key in settings and ours is not None and settings[key] != ours:
            logger.warning("%s says %s=%s but the target model uses %s", src.name, key, settings[key], ours)
    check_against_model(mapped, sites, model, f"{what} ({layout.name} layout)", prior=problems)
    names = list(classes) if classes is not None else cfg_classes
    if names is None and isinstance((extra.get("meta") or {}).get("dataset_meta"), Mapping):
        names = extra["meta"]["dataset_meta"].get("classes") or None
    out = dict(
        state_dict=cast_like(mapped, model),
        meta=_meta(model, model_cfg, list(names) if names else None, layout, src, sites),
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, dst)
    _verify(dst, model_cfg)
    logger.info(
        "wrote %s (%s -> tsmdet Recognizer2D, %d classes)", dst, layout.name, model.cls_head.num_classes
    )
    return dst


def _verify(dst: Path, model_cfg: Mapping) -> None:
    """The contract users rely on: mmengine's strict load into a freshly built recognizer."""
    from mmengine.runner import load_checkpoint

    load_checkpoint(_build(model_cfg), str(dst), map_location="cpu", strict=True, logger="silent")
