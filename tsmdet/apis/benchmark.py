"""Latency of an online TSM detector on every engine, against its no-shift twin, in one run.

Why it is measured this way:

* The TSM claim is temporal modelling at zero FLOPs and zero parameters, so the honest
  cost is the latency of the same model with and without the shift: same weights, same
  engine, same run. The twin comes from the config itself (the TSM backbone swapped for
  the mmdet class it extends, shift arguments dropped) and loads the TSM model's
  ``state_dict`` strictly, which also proves the shift adds no parameter.
* A small shared machine drifts (other processes, clocks). Every variant (engine x model)
  runs in blocks of ``block_frames`` frames, all variants in every block, the order
  reversed every other block (A B B A A B ...), so a slow phase hits every variant alike.
* model-only = the ``inference`` stage of ``Engine.infer`` on frames already decoded into
  memory (graph call + state feed-back); end-to-end = :func:`tsmdet.streaming.run_stream`
  on the video: decode in the reader thread, letterbox, inference, postprocess, i.e. the
  deployed path, with the decode thread competing for the same cores.
* Targets compare medians (p50), robust to a single scheduler hiccup; p90/p99 are reported.
  A ratio is the median over blocks of the per-block ratio (both sides ran back to back in
  the block): on a shared VM the speed drifts by 10-20 % within seconds, more than the 5 %
  a TSM overhead target resolves, and pairing cancels the drift between blocks.

``benchmark.json`` keys: ``config``, ``checkpoint`` (null: random weights), ``weights``
(``"checkpoint"`` | ``"random"``), ``input_size`` [w, h], ``video`` {path, size, frames,
generated}, ``frames``, ``warmup``, ``block_frames``, ``threads``, ``environment``,
``models`` {``tsm`` | ``no_shift``: {name, backbone, params, flops, gflops, num_states,
state_bytes_per_stream, onnx}}, ``engines`` {kind: {available, version | reason}},
``latency`` {engine: {model: {``model_only``, ``end_to_end``}}} (each a
``LatencyMeter.summary()``: {frames, fps, stages: {stage: {count, mean, p50, p90, p99, max}}},
plus ``block_p50``: the p50 of each block; model-only FPS = 1000 / mean inference ms,
end-to-end FPS = frames per second of the streaming runs, each timed from its first frame's
end), ``ratios`` [{name, engine, value (paired: median of per-block ratios), pooled (ratio of
the p50s), op, target, passed, numerator, numerator_ms, denominator, denominator_ms}], ``files``.
"""
from __future__ import annotations

import copy
import inspect
import json
import logging
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tsmdet.defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG
from tsmdet.runtime import Engine, EngineUnavailableError, ModelMeta, create_engine, letterbox, require_engine
from tsmdet.streaming import STAGES, LatencyMeter, format_latency_table, open_source, percentiles, run_stream

from .config import load_config

logger = logging.getLogger(__name__)

MODEL_KEYS = ("tsm", "no_shift")
MODEL_LABELS = {"tsm": "online TSM", "no_shift": "no shift (same weights)"}
ENGINE_KINDS = ("torch", "onnx", "trt")
E2E_STAGES = ("decode", "preprocess", "inference", "postprocess")
# Targets on a 2-core CPU (docs/deployment.md, "Latency").
TSM_OVERHEAD_MAX = 1.05  # online TSM / no-shift model-only latency, per engine
ONNX_SPEEDUP_MIN = 1.5  # PyTorch eager / onnxruntime model-only latency, same model
E2E_OVERHEAD_MAX = 1.15  # end-to-end / model-only latency, per engine
REWARM_FRAMES = 2  # unmeasured frames per variant at the start of each block
HEADLINE_STAGE = {"model_only": "inference", "end_to_end": "end_to_end"}  # what each part's latency is


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
    return twin


@dataclass
class _Model:
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


def _build_models(config: Path, checkpoint: Path | None,
                  input_size: tuple[int, int] | None) -> tuple[list[_Model], tuple[int, int]]:
    """The TSM model of ``config`` (``checkpoint`` loaded strictly, else random) and its no-shift twin."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import import_modules_from_strings

    from tsmdet.deploy.export import build_deploy_model, input_size_from_config

    cfg = load_config(config)
    import_modules_from_strings(**(cfg.get("custom_imports") or {"imports": ["tsmdet.models"]}))
    import tsmdet.models  # noqa: F401  (the safe checkpoint loader, whatever the config imports)

    init_default_scope(cfg.get("default_scope", "mmdet"))
    size = input_size or input_size_from_config(cfg)
    if size is None:
        raise ValueError(f"{config}: no Resize scale in the test pipeline; pass an input size (w, h)")
    from mmdet.registry import MODELS

    tsm = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(tsm, str(checkpoint), map_location="cpu", strict=True)
    twin = MODELS.build(no_shift_model_cfg(cfg.model))
    twin.load_state_dict(tsm.state_dict(), strict=True)  # TSM adds no parameter: an exact fit
    models = []
    for key, model in zip(MODEL_KEYS, (tsm, twin)):
        name = config.stem if key == "tsm" else f"{config.stem}_no_shift"
        deploy, meta = build_deploy_model(model.eval(), size, model_name=name)
        backbone = type(getattr(model, "detector", model).backbone).__name__
        models.append(_Model(key, deploy, meta, backbone))
    return models, size


def _prepare_video(source: str | None, out_dir: Path, size: tuple[int, int], frames: int) -> dict[str, Any]:
    """The given video, or a synthetic one of ``frames`` frames at ``size`` rendered once into ``out_dir``."""
    if source is not None:
        return {"path": str(source), "generated": False}
    path = out_dir / f"synthetic_{size[0]}x{size[1]}_{frames}f.mp4"
    if not path.is_file():
        from tsmdet.datasets.synthetic import write_sample_video

        logger.info("rendering a %dx%d synthetic video of %d frames: %s", *size, frames, path)
        write_sample_video(path, seed=0, index=0, frames=frames, size=size)
    return {"path": str(path), "generated": True}


def _decode(video: str, frames: int) -> list[np.ndarray]:
    """Up to ``frames`` frames of ``video``, decoded by the streaming source (what the engines will see)."""
    with open_source(video) as source:
        images = [frame.image for frame in islice(source, frames)]
    if len(images) < 2:
        raise ValueError(f"{video}: {len(images)} frame(s) decoded; a stream needs at least 2")
    if len(images) < frames:
        logger.warning("%s has %d frames (< %d): model-only runs cycle through them, end-to-end blocks are "
                       "at most %d frames", video, len(images), frames, len(images))
    return images


@dataclass
class _Variant:
    """One engine running one model, with the samples of every block pooled."""

    engine_kind: str
    model: str
    engine: Engine
    model_only: LatencyMeter = field(default_factory=lambda: LatencyMeter(("inference",)))
    end_to_end: LatencyMeter = field(default_factory=lambda: LatencyMeter((*STAGES, "stream_start")))
    block_p50: dict[str, list[float]] = field(default_factory=lambda: {"model_only": [], "end_to_end": []})
    e2e_intervals: int = 0  # frames after the first of each streaming run
    e2e_span_s: float = 0.0  # seconds from the first to the last frame end of each run

    def run_model_only(self, frames: list[np.ndarray]) -> None:
        """``frames`` through ``infer`` as a new stream, after ``REWARM_FRAMES`` unmeasured ones.

        The variant before this one evicted this model's weights from the caches and let
        its thread pool sleep; a deployed process runs one model and is always warm.
        """
        for frame in frames[:REWARM_FRAMES]:
            self.engine.infer([frame])
        self.engine.reset()
        block = []
        for frame in frames:
            self.engine.infer([frame])
            block.append(self.engine.last_times.inference)
            self.model_only.add("inference", block[-1])
        self.block_p50["model_only"].append(percentiles(block, (50.0,))[0])

    def run_end_to_end(self, video: str, frames: int) -> None:
        """One streaming run over the video's first ``frames`` frames: a new stream (video opened,
        state reset), as a camera reconnect would be.

        Its first frame pays the decoder start-up, which a long stream pays once: it is pooled
        apart as ``stream_start`` (end-to-end ms) so the stage percentiles are the steady state.
        """
        meter = LatencyMeter(STAGES)
        ends: list[float] = []
        run_stream(open_source(video), self.engine, [], max_frames=frames, meter=meter,
                   on_frame=lambda *_: ends.append(time.perf_counter()), log_every_s=math.inf)
        for stage in STAGES:
            first, *rest = meter.samples(stage)
            for ms in rest:
                self.end_to_end.add(stage, ms)
            if stage == "end_to_end":
                self.end_to_end.add("stream_start", first)
                self.block_p50["end_to_end"].append(percentiles(rest, (50.0,))[0])
        self.e2e_intervals += len(ends) - 1
        self.e2e_span_s += ends[-1] - ends[0]

    def summary(self) -> dict[str, dict]:
        """Both meters' summaries with per-variant frame counts and FPS (the meters never tick),
        plus each block's p50 (``inference`` resp. ``end_to_end``) for the paired ratios."""
        model_only = self.model_only.summary()
        inference = model_only["stages"]["inference"]
        model_only.update(frames=inference["count"], fps=1e3 / inference["mean"],
                          block_p50=self.block_p50["model_only"])
        end_to_end = self.end_to_end.summary()
        end_to_end.update(frames=end_to_end["stages"]["end_to_end"]["count"],
                          fps=self.e2e_intervals / self.e2e_span_s if self.e2e_span_s > 0 else 0.0,
                          block_p50=self.block_p50["end_to_end"])
        return {"model_only": model_only, "end_to_end": end_to_end}


def _open_engines(kind: str, models: list[_Model], threads: int, out_dir: Path) -> list[Engine]:
    """One engine per model; the ONNX files are exported on first need (verification is export's job)."""
    if kind == "torch":
        return [create_engine("torch", m.deploy, meta=m.meta) for m in models]
    from tsmdet.deploy.export import export_deploy_model

    for m in models:
        if m.onnx is None:
            m.onnx = out_dir / f"{m.meta.model_name}.onnx"
            export_deploy_model(m.deploy, m.meta, m.onnx, verify=False)
    if kind == "onnx":
        return [create_engine("onnx", m.onnx, intra_op_threads=threads) for m in models]
    return [create_engine(kind, m.onnx, cache_dir=out_dir / "trt_cache") for m in models]


def _ratio(name: str, engine: str, num: tuple[str, str, str], den: tuple[str, str, str], op: str,
           target: float, latency: dict[str, dict]) -> dict[str, Any]:
    """``num``/``den`` = (engine, model, part). ``value``: the median over blocks of the ratio of
    the two parts' block p50s (paired: drift between blocks cancels); ``pooled``: the ratio of
    the run's p50s, for reference."""
    parts = [latency[e][m][p] for e, m, p in (num, den)]
    value = percentiles([a / b for a, b in zip(parts[0]["block_p50"], parts[1]["block_p50"])], (50.0,))[0]
    num_ms, den_ms = (part["stages"][HEADLINE_STAGE[key[2]]]["p50"] for part, key in zip(parts, (num, den)))
    return {"name": name, "engine": engine, "value": value, "op": op, "target": target,
            "passed": value <= target if op == "<=" else value >= target, "pooled": num_ms / den_ms,
            "numerator": "/".join(num), "numerator_ms": num_ms, "denominator": "/".join(den),
            "denominator_ms": den_ms}


def compute_ratios(latency: dict[str, dict]) -> list[dict[str, Any]]:
    """The three targets from one run's ``latency`` section (see :func:`_ratio`)."""
    ratios = []
    for engine in latency:
        ratios.append(_ratio("tsm_overhead", engine, (engine, "tsm", "model_only"),
                             (engine, "no_shift", "model_only"), "<=", TSM_OVERHEAD_MAX, latency))
    if "torch" in latency and "onnx" in latency:
        ratios.append(_ratio("onnx_speedup", "onnx", ("torch", "tsm", "model_only"),
                             ("onnx", "tsm", "model_only"), ">=", ONNX_SPEEDUP_MIN, latency))
    for engine in latency:
        ratios.append(_ratio("e2e_overhead", engine, (engine, "tsm", "end_to_end"),
                             (engine, "tsm", "model_only"), "<=", E2E_OVERHEAD_MAX, latency))
    return ratios


def _usable_cores() -> int:
    """Cores this process may run on (taskset/cgroup affinity where the OS reports it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _environment() -> dict[str, Any]:
    """What the numbers depend on besides the model: CPU, cores, load, versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": _usable_cores(),
            "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "platform": platform.platform(), "python": sys.version.split()[0], "torch": torch.__version__}


def run_benchmark(
    config: str | os.PathLike | None = None,
    checkpoint: str | os.PathLike | None = None,
    engines: list[str] | None = None,
    frames: int = 200,
    warmup: int = 20,
    source: str | None = None,
    out_dir: str | os.PathLike = "outputs/benchmark",
    threads: int | None = None,
    input_size: tuple[int, int] | None = None,
    block_frames: int = 10,
) -> dict[str, Any]:
    """Measure, write ``benchmark.json``/``.md``/``.png`` into ``out_dir`` and return the report.

    Args:
        config: model config; None: the built-in synthetic Faster R-CNN, with its shipped
            checkpoint when that exists and no ``checkpoint`` is given.
        checkpoint: loaded strictly; None keeps random weights (latency only).
        engines: kinds to run (default: all; an unavailable one is reported with the reason).
        frames, warmup: measured and warm-up frames per variant.
        source: video to decode; None renders a synthetic one at the network input size.
        threads: intra-op threads of torch and onnxruntime (default: the usable cores).
        input_size: network input (w, h); default the config's test scale padded to the divisor.
        block_frames: frames per variant per interleaved block.
    """
    if frames < 2 or warmup < 0 or block_frames < 2:
        raise ValueError(f"need frames >= 2, warmup >= 0 and block_frames >= 2; "
                         f"got {frames}, {warmup}, {block_frames}")
    requested = list(engines or ENGINE_KINDS)
    if set(requested) - set(ENGINE_KINDS):
        raise ValueError(f"unknown engine(s) {sorted(set(requested) - set(ENGINE_KINDS))}; "
                         f"choose from {ENGINE_KINDS}")
    if config is None:
        config = DEFAULT_CONFIG
        checkpoint = checkpoint or (DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None)
    config = Path(config)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    if checkpoint is None:
        logger.warning("no checkpoint: random weights (latency only)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = threads or _usable_cores()
    environment = _environment()  # the load before this run adds its own

    models, size = _build_models(config, Path(checkpoint) if checkpoint else None, input_size)
    video = _prepare_video(source, out_dir, size, frames)
    decoded = _decode(video["path"], frames)
    video.update(size=[decoded[0].shape[1], decoded[0].shape[0]], frames=len(decoded))
    meta = models[0].meta
    image = letterbox(decoded[0], meta.input_size, meta.pad_value, meta.channel_order)[0]
    costs = {m.key: m.cost(torch.from_numpy(image)[None]) for m in models}
    engine_info, latency = _measure(requested, models, decoded, video["path"], frames, warmup, block_frames,
                                    threads, out_dir)
    for m in models:
        costs[m.key]["onnx"] = str(m.onnx) if m.onnx else None
    report = {
        "config": str(config), "checkpoint": str(checkpoint) if checkpoint else None,
        "weights": "checkpoint" if checkpoint else "random", "input_size": list(size), "video": video,
        "frames": frames, "warmup": warmup, "block_frames": block_frames, "threads": threads,
        "environment": environment, "models": costs, "engines": engine_info, "latency": latency,
        "ratios": compute_ratios(latency),
    }
    report["files"] = write_report(report, out_dir)
    return report


def _measure(requested: list[str], models: list[_Model], decoded: list[np.ndarray], video: str, frames: int,
             warmup: int, block_frames: int, threads: int,
             out_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict]]:
    """Open every requested engine for both models, warm up, run the interleaved blocks.

    Returns ``engines`` (availability, version or reason) and ``latency`` sections.
    torch's intra-op thread count is process-wide: set for the run, restored after.
    """
    engine_info: dict[str, dict[str, Any]] = {}
    variants: list[_Variant] = []
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for kind in requested:
            try:
                version = require_engine(kind)
                pair = _open_engines(kind, models, threads, out_dir)
            except EngineUnavailableError as exc:
                logger.warning("engine %s not run: %s", kind, exc)
                engine_info[kind] = {"available": False, "reason": str(exc)}
                continue
            engine_info[kind] = {"available": True, "version": version}
            variants += [_Variant(kind, m.key, e) for m, e in zip(models, pair)]
        for v in variants:  # allocations, lazy initialisation, caches
            for frame in islice(cycle(decoded), warmup):
                v.engine.infer([frame])
            v.engine.reset()
        _run_blocks(variants, decoded, video, frames, block_frames)
    finally:
        torch.set_num_threads(previous_threads)
        for v in variants:
            v.engine.close()
    latency: dict[str, dict] = {}
    for v in variants:
        latency.setdefault(v.engine_kind, {})[v.model] = v.summary()
    return engine_info, latency


def _run_blocks(variants: list[_Variant], decoded: list[np.ndarray], video: str, frames: int,
                block_frames: int) -> None:
    """All variants per block, the order reversed every other block (A B | B A | A B ...)."""
    stream = list(islice(cycle(decoded), frames))
    blocks = math.ceil(frames / block_frames)
    start = time.perf_counter()
    for b in range(blocks):
        chunk = stream[b * block_frames : (b + 1) * block_frames]
        for v in variants if b % 2 == 0 else variants[::-1]:
            v.run_model_only(chunk)
            v.run_end_to_end(video, min(len(chunk) + 1, len(decoded)))  # + 1: the stream start
        logger.info("block %d/%d done (%.0f s)", b + 1, blocks, time.perf_counter() - start)


# ----------------------------------------------------------------------------- report files

CHECK_LABELS = {
    "tsm_overhead": "online TSM / no shift (model-only)",
    "onnx_speedup": "PyTorch eager / onnxruntime (TSM, model-only)",
    "e2e_overhead": "end-to-end / model-only (TSM)",
}


def write_report(report: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """``benchmark.json``, ``benchmark.md`` and ``benchmark.png`` in ``out_dir``; returns their paths."""
    files = {kind: out_dir / f"benchmark.{kind}" for kind in ("json", "md", "png")}
    paths = {kind: str(path) for kind, path in files.items()}
    files["json"].write_text(json.dumps({**report, "files": paths}, indent=2))
    files["md"].write_text(format_markdown(report))
    plot_report(report, files["png"])
    logger.info("benchmark report: %s", ", ".join(paths.values()))
    return paths


def _ms3(stats: dict) -> str:
    return f"{stats['p50']:.2f} / {stats['p90']:.2f} / {stats['p99']:.2f}"


def _setup_line(report: dict[str, Any]) -> str:
    env, video = report["environment"], report["video"]
    weights = (f"checkpoint `{report['checkpoint']}`" if report["checkpoint"]
               else "random weights (latency only)")
    load = f", load {env['load_avg_1min']:.2f} at start" if env["load_avg_1min"] is not None else ""
    return (f"Config `{report['config']}`, {weights}. Video `{video['path']}` ({video['size'][0]}x"
            f"{video['size'][1]}, {video['frames']} frames{', synthetic' if video['generated'] else ''}). "
            f"{report['frames']} measured frames per variant after {report['warmup']} warm-up, in blocks of "
            f"{report['block_frames']} with all variants interleaved (order reversed every other block). "
            f"{report['threads']} intra-op threads; {env['cpu']}, {env['cores']} cores{load}; "
            f"torch {env['torch']}.")


def format_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: setup, model cost, latency per engine and model, targets."""
    size = report["input_size"]
    lines = [f"# Latency: {report['models']['tsm']['name']} at {size[0]}x{size[1]}", "", _setup_line(report),
             "", "## Model", "", "| model | backbone | params | GFLOPs | shift states | state per stream |",
             "|---|---|---:|---:|---:|---:|"]
    for key in MODEL_KEYS:
        m = report["models"][key]
        lines.append(f"| {MODEL_LABELS[key]} | {m['backbone']} | {m['params']:,} | {m['gflops']:.3f} | "
                     f"{m['num_states']} | {m['state_bytes_per_stream']:,} B |")
    tsm, twin = report["models"]["tsm"], report["models"]["no_shift"]
    same = "yes" if (tsm["params"], tsm["flops"]) == (twin["params"], twin["flops"]) else "NO"
    lines += ["", f"Same parameters and FLOPs without the shift: **{same}** (the twin loads the TSM weights "
              "strictly; FLOPs: conv/matmul counted by `FlopCounterMode` on one frame, 2 per multiply-add).",
              "", "## Latency (ms)", "",
              "| engine | model | model-only p50 / p90 / p99 | FPS | end-to-end p50 / p90 / p99 | FPS | "
              + " | ".join(f"{stage} p50" for stage in E2E_STAGES) + " |",
              "|---|---|---:|---:|---:|---:|" + "---:|" * len(E2E_STAGES)]
    for engine, per_model in report["latency"].items():
        for key in MODEL_KEYS:
            model_only, e2e = per_model[key]["model_only"], per_model[key]["end_to_end"]
            stages = " | ".join(f"{e2e['stages'][stage]['p50']:.2f}" for stage in E2E_STAGES)
            lines.append(f"| {engine} | {MODEL_LABELS[key]} | {_ms3(model_only['stages']['inference'])} | "
                         f"{model_only['fps']:.1f} | {_ms3(e2e['stages']['end_to_end'])} | "
                         f"{e2e['fps']:.1f} | {stages} |")
    lines += ["", "Stage columns come from the end-to-end runs; decode runs in the source's reader thread. "
              "Each block's stream start (video opened, state reset) is pooled apart as `stream_start`.", "",
              "## Targets", "",
              "Ratio: the median over blocks of the ratio of the two block p50s (each block runs both sides "
              "back to back, so drift between blocks cancels); pooled: the ratio of the p50s above.", "",
              "| check | engine | ratio | pooled | target | result |", "|---|---|---:|---:|---:|---|"]
    for r in report["ratios"]:
        result = "PASS" if r["passed"] else "**FAIL**"
        lines.append(f"| {CHECK_LABELS[r['name']]} | {r['engine']} | {r['value']:.3f} | {r['pooled']:.3f} | "
                     f"{r['op']} {r['target']} | {result} |")
    missing = {kind: info["reason"] for kind, info in report["engines"].items() if not info["available"]}
    if missing:
        lines += ["", "## Engines not run", ""] + [f"* {kind}: {reason}" for kind, reason in missing.items()]
    for engine, per_model in report["latency"].items():
        lines += ["", f"<details><summary>{engine}, online TSM, end-to-end stages</summary>", "", "```",
                  format_latency_table(per_model["tsm"]["end_to_end"]), "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def plot_report(report: dict[str, Any], path: Path) -> None:
    """p50 bars (whisker to p90, dot at p99) and the mean end-to-end time per stage, per variant."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    names, model_only, e2e = [], [], []
    for engine, per_model in report["latency"].items():
        for key in MODEL_KEYS:
            names.append(f"{engine}\n{'TSM' if key == 'tsm' else 'no shift'}")
            model_only.append(per_model[key]["model_only"]["stages"]["inference"])
            e2e.append(per_model[key]["end_to_end"]["stages"])
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    x = np.arange(len(names))
    for offset, label, stats in ((-0.2, "model-only", model_only),
                                 (0.2, "end-to-end", [s["end_to_end"] for s in e2e])):
        p50 = np.array([s["p50"] for s in stats])
        p90 = np.array([s["p90"] for s in stats])
        left.bar(x + offset, p50, 0.4, label=label, yerr=[np.zeros_like(p50), p90 - p50], capsize=3)
        left.plot(x + offset, [s["p99"] for s in stats], "k.", markersize=5)
    left.set(xticks=x, xticklabels=names, ylabel="ms", title="latency p50 (whisker: p90, dot: p99)")
    left.legend()
    bottom = np.zeros(len(names))
    for stage in E2E_STAGES:
        means = np.array([s[stage]["mean"] for s in e2e])
        right.bar(x, means, 0.6, bottom=bottom, label=stage)
        bottom += means
    right.set(xticks=x, xticklabels=names, ylabel="ms", title="end-to-end, mean per stage")
    right.legend()
    size = report["input_size"]
    fig.suptitle(f"{report['models']['tsm']['name']} {size[0]}x{size[1]}, threads={report['threads']}, "
                 f"{report['weights']} weights")
    fig.savefig(path, dpi=110)
