"""A config's recognizer with random, signal-preserving weights, saved as a checkpoint (test helper).

Default init fades in deep nets, so logits would barely differ between frames; kaiming convs and a
wider head make a wrong state or a wrong export change the scores visibly.
"""
from __future__ import annotations

from pathlib import Path

import torch


def save_random_recognizer(config: Path, path: Path, fc_std: float = 0.1) -> Path:
    """Build ``config``'s model (no pretrained init), seed 0, kaiming convs, fc ~ N(0, fc_std); save to ``path``."""
    from mmdet.registry import MODELS
    from mmengine.config import Config

    import tsmdet.models  # noqa: F401  (registers the recognizers)

    model_cfg = Config.fromfile(str(config)).model.to_dict()
    model_cfg["backbone"]["init_cfg"] = None
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=fc_std)
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    return path
