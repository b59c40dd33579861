"""Recognizers in the latency benchmark: the online TSM recognizer, its no-shift twin, and the clip cost.

The twins are built as for detectors (:func:`tsmdet.apis.benchmark.twins.no_shift_model_cfg`: the TSM
backbone swapped for the mmdet class it extends, the same weights) and wrapped by the recognizer's
deploy module, so every engine measures exactly the exported graph (one frame, logits + caches).
:func:`clip_vs_online` adds the number that says why online recognition exists: re-running an
offline T-frame clip for every new frame costs T frames of backbone; the online model costs one.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from tsmdet.streaming.latency import percentiles

from .twins import MODEL_KEYS, BenchModel, no_shift_model_cfg


def build_recognizer_models(config: Path, cfg: Any, checkpoint: Path | None,
                            input_size: tuple[int, int] | None) -> tuple[list[BenchModel], tuple[int, int]]:
    """The online TSM recognizer of ``cfg`` (``checkpoint`` loaded strictly, else random) and its twin."""
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    import tsmdet.models  # noqa: F401  (registers the recognizers)
    from tsmdet.deploy.recognizer_export import build_recognizer_deploy
    from tsmdet.runtime.preprocess import Preprocess
    from tsmdet.runtime.smoothing import SmoothingConfig
    from tsmdet.utils.checkpoint import register_safe_loader

    register_safe_loader()
    model_cfg = cfg.model.to_dict()
    model_cfg["backbone"]["init_cfg"] = None
    raw = cfg.get("preprocess")
    contract = Preprocess.from_dict(dict(raw)) if raw is not None else None
    size = tuple(input_size) if input_size else (contract.input_size if contract else (224, 224))
    if contract is not None and contract.input_size != size:
        contract = Preprocess(**{**contract.to_dict(), "input_size": size, "scale": None})
    tsm = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint(tsm, str(checkpoint), map_location="cpu", strict=True, logger="silent")
    twin = MODELS.build(no_shift_model_cfg(model_cfg))
    twin.load_state_dict(tsm.state_dict(), strict=True)  # TSM adds no parameter: an exact fit
    smoothing = SmoothingConfig.from_dict(cfg.get("smoothing"))
    models = []
    for key, model in zip(MODEL_KEYS, (tsm, twin)):
        name = config.stem if key == "tsm" else f"{config.stem}_no_shift"
        deploy, meta = build_recognizer_deploy(model.eval(), size, model_name=name, preprocess=contract,
                                               smoothing=smoothing)
        models.append(BenchModel(key, deploy, meta, type(model.backbone).__name__))
    return models, size


def clip_vs_online(model: BenchModel, repeats: int = 30, warmup: int = 5, seed: int = 0,
                   threads: int = 1) -> dict[str, Any]:
    """PyTorch eager p50/p90/p99 of one online frame vs one offline ``num_segments``-frame clip, and FLOPs.

    Both run on the same recognizer: the online step (the deploy module: one frame + caches) and
    the offline clip model (``Recognizer2D(mode='tensor')`` on T frames), interleaved call by call,
    on ``threads`` intra-op threads (1 by default: on a loaded 2-core machine a second OpenMP
    thread spins, and its waits, not the model, then dominate both sides).
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _clip_vs_online(model, repeats, warmup, seed, threads)
    finally:
        torch.set_num_threads(previous_threads)


def _clip_vs_online(model: BenchModel, repeats: int, warmup: int, seed: int, threads: int) -> dict[str, Any]:
    from torch.utils.flop_counter import FlopCounterMode

    recognizer = model.deploy.recognizer
    t = int(recognizer.num_segments)
    w, h = model.meta.input_size
    g = torch.Generator().manual_seed(seed)
    frame = torch.rand(1, 3, h, w, generator=g) * 255.0
    clip = torch.randn(1, t, 3, h, w, generator=g)
    states = [torch.zeros(s.shape) for s in model.meta.states]

    def online() -> None:
        model.deploy(frame, *states)

    def offline() -> None:
        recognizer(clip, mode="tensor")

    times: dict[str, list[float]] = {"online_frame": [], "offline_clip": []}
    with torch.inference_mode():
        for i in range(warmup + repeats):
            for name, fn in (("online_frame", online), ("offline_clip", offline)):
                t0 = time.perf_counter()
                fn()
                if i >= warmup:
                    times[name].append(1e3 * (time.perf_counter() - t0))
        flops = {}
        for name, fn in (("online_frame", online), ("offline_clip", offline)):
            with FlopCounterMode(display=False) as counter:
                fn()
            flops[name] = int(counter.get_total_flops())
    out: dict[str, Any] = {"num_segments": t, "engine": "torch", "repeats": repeats, "threads": threads}
    for name, samples in times.items():
        p50, p90, p99 = percentiles(samples, (50.0, 90.0, 99.0))
        out[name] = {"p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "gflops": flops[name] / 1e9}
    out["latency_ratio"] = out["offline_clip"]["p50_ms"] / out["online_frame"]["p50_ms"]
    out["flops_ratio"] = flops["offline_clip"] / max(1, flops["online_frame"])
    return out
