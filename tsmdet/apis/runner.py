"""Build an mmengine Runner from a tsmdet config with the options the tools expose."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner

from tsmdet.utils.checkpoint import register_safe_loader, trust_checkpoint

logger = logging.getLogger(__name__)


def build_runner(
    cfg: Config,
    config_path: str | os.PathLike,
    work_dir: str | None = None,
    resume: str | None = None,
    load_from: str | None = None,
    amp: bool = False,
    launcher: str = "none",
    trusted_checkpoint: bool = False,
) -> Runner:
    """Apply the tool options to ``cfg`` and build the Runner.

    Args:
        work_dir: defaults to ``work_dirs/<config name>``.
        resume: ``'auto'`` resumes from the latest checkpoint in ``work_dir``;
            a path resumes from that file (optimizer, scheduler, iteration).
        load_from: weights only (e.g. for testing).
        amp: automatic mixed precision (``AmpOptimWrapper``).
        launcher: ``'none'`` or ``'pytorch'`` (torchrun); without CUDA the
            process group uses gloo, so several CPU processes work too.
        trusted_checkpoint: allow full pickle for the file given by ``resume`` / ``load_from``.
    """
    register_safe_loader()  # load_from, resume and init_cfg Pretrained go through the allow-list
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(config_path).stem)
    if resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    if load_from:
        cfg.load_from = load_from
    if trusted_checkpoint and cfg.get("load_from"):
        trust_checkpoint(cfg.load_from)
    if amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if launcher != "none" and not torch.cuda.is_available():
        _setup_cpu_distributed(cfg)
    return Runner.from_cfg(cfg)


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU processes: mmengine's Runner always passes
    ``device_ids=[LOCAL_RANK]``, which torch's DDP rejects for a CPU module."""

    def __init__(self, module: torch.nn.Module, device_ids: list[int] | None = None, **kwargs) -> None:
        super().__init__(module=module, device_ids=None, **kwargs)


def _setup_cpu_distributed(cfg: Config) -> None:
    """Several CPU processes (torchrun without CUDA): gloo instead of NCCL.

    mmengine 0.10's ``pytorch`` launcher calls ``torch.cuda.set_device`` before it
    starts the process group, which fails without a GPU; the group is started here
    (the Runner then uses it as is) and the model is wrapped without device ids.
    """
    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="gloo")
    wrapper = cfg.get("model_wrapper_cfg") or {}
    if wrapper.get("type", "MMDistributedDataParallel") == "MMDistributedDataParallel":
        cfg.model_wrapper_cfg = dict(wrapper, type="CPUDistributedDataParallel", broadcast_buffers=False,
                                     find_unused_parameters=cfg.get("find_unused_parameters", False))


def configure_test(cfg: Config, mode: str = "online", out_prefix: str | None = None,
                   convention: str | None = None) -> None:
    """Set the test mode of an ``OnlineVideoDetector`` and where the VID metric writes.

    Offline mode feeds the test set as clips of the backbone's ``num_segments``
    frames; online mode feeds single frames in video order. A recognizer
    (``Recognizer2D``) has no mode: its test pipeline already yields whole
    multi-view clips; only the accuracy report's ``out_prefix`` is set.
    ``convention`` (detectors: ``'fgfa'`` or ``'coco'``, see
    ``tsmdet.evaluation.vid_metric.conventions``) is set on every ``VIDMetric``; ``None``
    keeps the config's (whose default is fgfa).
    """
    if cfg.model.get("type") == "Recognizer2D":
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        for evaluator in evaluators:
            if evaluator.get("type") == "AccuracyMetric" and out_prefix:
                evaluator.outfile_prefix = out_prefix
        return
    if cfg.model.get("type") == "OnlineVideoDetector":
        cfg.model.test_mode = mode
    dataset = cfg.test_dataloader.dataset
    if mode == "offline":
        dataset.test_clip_len = cfg.model.detector.backbone.get("num_segments", 1)
        cfg.test_dataloader.collate_fn = dict(type="clip_collate")  # clip samples -> N*T frames
    else:
        dataset.pop("test_clip_len", None)
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get("type") == "VIDMetric" and out_prefix:
            evaluator.outfile_prefix = out_prefix
        if evaluator.get("type") == "VIDMetric" and convention is not None:
            evaluator.convention = convention
