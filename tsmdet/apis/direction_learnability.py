"""Can a backbone learn the motion pair's direction when that is the only thing it is asked?

The detector experiment (docs/experiments.md) mixes the car-vs-bus question into
a detection loss, where a per-instance appearance shortcut and the localisation
terms compete with it. This check removes everything else: the backbone of a
config, a linear classifier on its stride-4 features pooled in the ground-truth
boxes of ``car``/``bus`` (7 columns, rows averaged: where along the box the
evidence sits is what shows the direction), trained with Adam on the config's
training clips. Frames without history (the first of each clip) are left out.
A per-frame backbone stays at 50 %; a backbone whose shift carries the previous
frame can go above it. If it does here but not inside the detector, the
detector's training, not the shift, is what holds the temporal signal back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision.ops import roi_align

from .config import load_config

logger = logging.getLogger(__name__)

POSITIVE, NEGATIVE = "car", "bus"


def _pair_rois(samples: list, clip_len: int, classes: tuple[str, ...]) -> tuple[Tensor, Tensor] | None:
    """(K, 5) RoIs (batch index, x1, y1, x2, y2) of the pair's boxes in frames with history, and 1 for car."""
    pos, neg = classes.index(POSITIVE), classes.index(NEGATIVE)
    rois, labels = [], []
    for i, sample in enumerate(samples):
        if i % clip_len == 0:
            continue
        boxes = sample.gt_instances.bboxes
        boxes = getattr(boxes, "tensor", boxes)
        for box, label in zip(boxes, sample.gt_instances.labels.tolist()):
            if label in (pos, neg):
                rois.append(torch.cat([box.new_tensor([float(i)]), box]))
                labels.append(float(label == pos))
    if not rois:
        return None
    return torch.stack(rois), torch.tensor(labels)


def train_direction_classifier(config: str | Path, steps: int = 400, data_root: str | None = None,
                               lr: float = 1e-3, seed: int = 0, report_every: int = 50,
                               on_report: Callable[[int, float, float], None] | None = None,
                               init_checkpoint: str | None = None, save_to: str | None = None) -> dict:
    """Train backbone + linear classifier on car-vs-bus; returns the accuracy curve over training.

    ``init_checkpoint`` starts from a detector checkpoint; ``save_to`` writes the
    model (with the trained backbone) as a checkpoint for ``load_from``.

    Each step's accuracy is measured on that step's clips *before* the update, so
    with a training set much larger than ``steps`` clips it estimates generalisation.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import tsmdet.datasets  # noqa: F401  (registers the clip dataset)
    import tsmdet.models  # noqa: F401
    from tsmdet.utils.checkpoint import register_safe_loader

    register_safe_loader()  # --init goes through mmengine's loader
    torch.manual_seed(seed)
    init_default_scope("mmdet")
    cfg = load_config(config, data_root=data_root)
    classes = tuple(cfg.train_dataloader.dataset.metainfo["classes"])
    if POSITIVE not in classes or NEGATIVE not in classes:
        raise ValueError(f"{config}: the check needs the classes {POSITIVE!r} and {NEGATIVE!r}, has {classes}")
    clip_len = int(cfg.train_dataloader.dataset.get("num_frames", 1))
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
    model = MODELS.build(cfg.model)
    if init_checkpoint:
        from mmengine.runner import load_checkpoint

        load_checkpoint(model, init_checkpoint, map_location="cpu")
    detector = model.detector
    backbone, preprocess = detector.backbone, detector.data_preprocessor
    backbone.eval()  # a dry run must not move the BatchNorm statistics of the model that is saved
    with torch.no_grad():
        channels = backbone(torch.zeros(clip_len, 3, 64, 64))[0].shape[1]
    backbone.train()
    head = torch.nn.Linear(channels * 7, 1)
    optimizer = torch.optim.Adam([*backbone.parameters(), *head.parameters()], lr=lr)
    accuracies: list[float] = []
    curve: list[dict] = []
    batches = iter(loader)
    for step in range(1, steps + 1):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        data = preprocess(batch, True)
        pair = _pair_rois(data["data_samples"], clip_len, classes)
        if pair is None:
            continue
        rois, labels = pair
        c2 = backbone(data["inputs"])[0]
        scale = c2.shape[-1] / data["inputs"].shape[-1]  # 1/4 for ResNet's first stage
        pooled = roi_align(c2, rois, (7, 7), spatial_scale=scale, sampling_ratio=2, aligned=True)
        logits = head(pooled.mean(2).flatten(1)).squeeze(1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        accuracies.append(float(((logits > 0).float() == labels).float().mean()))
        if step % report_every == 0 or step == steps:
            acc = float(np.mean(accuracies[-report_every:]))
            curve.append({"step": step, "accuracy": acc, "loss": float(loss.detach())})
            if on_report is not None:
                on_report(step, acc, float(loss.detach()))
    if save_to:  # the whole model, backbone updated: a start point for detector training (load_from)
        Path(save_to).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": model.state_dict(), "meta": {"direction_steps": steps}}, save_to)
    return {"config": str(config), "steps": steps, "curve": curve,
            "final_accuracy": curve[-1]["accuracy"] if curve else None}
