"""The two compared models: the config's online TSM detector and its no-shift twin, same weights.

The twin comes from the config itself (the TSM backbone swapped for the mmdet class it
extends, shift arguments dropped) and loads the TSM model's ``state_dict`` strictly, which
also proves the shift adds no parameter.
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tsmdet.runtime import ModelMeta


MODEL_KEYS = ("tsm", "no_shift")
MODEL_LABELS = {"tsm": "online TSM", "no_shift": "no shift (same weights)"}


def no_shift_model_cfg(model_cfg: dict) -> dict:
    """The model config with the TSM backbone replaced by the mmdet backbone it extends.

    The shift arguments are exactly the TSM class's constructor arguments that its
    plain base does not take, so every other argument (depth, widths, out_indices, ...)
    is kept and the twin differs from the TSM model only by the shift.
    """
    from mmdet.registry import MODELS

    from tsmdet.models.backbones.online_shift import OnlineShiftMixin

    twin = copy.deepcopy(model_cfg)
    detector = twin.get("detector", twin)  # OnlineVideoDetector wraps the mmdet detector
    backbone = detector["backbone"]
    tsm_cls = MODELS.get(backbone["type"])
    if tsm_cls is None or not issubclass(tsm_cls, OnlineShiftMixin):
        raise ValueError(f"backbone {backbone['type']!r} has no temporal shift: no overhead to measure")
    plain = next(c for c in tsm_cls.__mro__ if not issubclass(c, OnlineShiftMixin))
    if MODELS.get(plain.__name__) is not plain:
        raise ValueError(f"{plain.__name__} (the base of {tsm_cls.__name__}) is not in the MODELS registry")
    shift_args = (set(inspect.signature(tsm_cls.__init__).parameters)
                  - set(inspect.signature(plain.__init__).parameters))
    kept = {k: v for k, v in backbone.items() if k not in shift_args}
    detector["backbone"] = {**kept, "type": plain.__name__}
    if "cls_head" in detector and "num_segments" in backbone:  # a recognizer: T moves to the head
        detector["cls_head"] = {**detector["cls_head"], "num_segments": backbone["num_segments"]}
    return twin


@dataclass
class BenchModel:
    """One of the two compared models, wrapped for deployment."""

    key: str  # "tsm" | "no_shift"
    deploy: nn.Module
    meta: ModelMeta
    backbone: str
    onnx: Path | None = None

    def cost(self, image: torch.Tensor) -> dict[str, Any]:
        """Parameters and FLOPs of one frame (FlopCounterMode: conv/matmul, 2 FLOPs per MAC)."""
        from torch.utils.flop_counter import FlopCounterMode

        states = [torch.zeros(s.shape) for s in self.meta.states]
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            self.deploy(image, *states)
        flops = int(counter.get_total_flops())
        return {
            "name": self.meta.model_name, "backbone": self.backbone,
            "params": sum(p.numel() for p in self.deploy.parameters()), "flops": flops, "gflops": flops / 1e9,
            "num_states": len(self.meta.states), "state_bytes_per_stream": self.meta.state_bytes_per_stream,
        }


def build_models(config: Path, checkpoint: Path | None,
                  input_size: tuple[int, int] | None) -> tuple[list[BenchModel], tuple[int, int]]:
    """The TSM model of ``config`` (``checkpoint`` loaded strictly, else random) and its no-shift twin."""
    from tsmdet.deploy.export import build_deploy_model, load_model

    tsm, cfg, _, contract = load_model(config, checkpoint, input_size)
    size = contract.input_size
    from mmdet.registry import MODELS

    twin = MODELS.build(no_shift_model_cfg(cfg.model))
    twin.load_state_dict(tsm.state_dict(), strict=True)  # TSM adds no parameter: an exact fit
    models = []
    for key, model in zip(MODEL_KEYS, (tsm, twin)):
        name = config.stem if key == "tsm" else f"{config.stem}_no_shift"
        # dynamic stream batch: one export serves one stream and the batched-streams run (--streams)
        deploy, meta = build_deploy_model(model.eval(), size, model_name=name, dynamic_batch=True,
                                          preprocess=contract)
        backbone = type(getattr(model, "detector", model).backbone).__name__
        models.append(BenchModel(key, deploy, meta, backbone))
    return models, size
