"""The measurement: every (engine, model) variant in interleaved blocks, model-only and end-to-end.

A small shared machine drifts; every variant runs in blocks of ``block_frames`` frames,
all variants in every block, the order reversed every other block (A B B A A B ...), so a
slow phase hits every variant alike. Model-only times the ``inference`` stage of
``Engine.infer`` on decoded frames; end-to-end runs :func:`tsmdet.streaming.run_stream`
on the video (the deployed path, decode thread included).
"""
from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import numpy as np

from tsmdet.runtime import ENGINE_KINDS as _ENGINES, Engine, EngineUnavailableError, create_engine, require_engine
from tsmdet.streaming import STAGES, LatencyMeter, open_source, percentiles, run_stream

from ..engines import engine_from_model_file
from .contend import LoadMonitor, Neighbour
from .streams import measure_streams
from .twins import BenchModel

logger = logging.getLogger(__name__)

ENGINE_KINDS = tuple(reversed(_ENGINES))  # the runtime's one list, run cheapest-to-build first: torch, onnx, trt
REWARM_FRAMES = 2  # unmeasured frames per variant at the start of each block


def prepare_video(source: str | None, out_dir: Path, size: tuple[int, int], frames: int) -> dict[str, Any]:
    """The given video, or a synthetic one of ``frames`` frames at ``size`` rendered once into ``out_dir``."""
    if source is not None:
        return {"path": str(source), "generated": False}
    path = out_dir / f"synthetic_{size[0]}x{size[1]}_{frames}f.mp4"
    if not path.is_file():
        from tsmdet.datasets.synthetic import write_sample_video

        logger.info("rendering a %dx%d synthetic video of %d frames: %s", *size, frames, path)
        write_sample_video(path, seed=0, index=0, frames=frames, size=size)
    return {"path": str(path), "generated": True}


def decode_frames(video: str, frames: int) -> list[np.ndarray]:
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
class Variant:
    """One engine kind running one model, with the samples of every block pooled.

    ``engines`` are independent instances of the same model (``sessions``); block b runs on
    instance ``b % len(engines)`` (:meth:`use`). Why: two onnxruntime sessions of the same
    file differ in speed by up to ~4 %, consistently over a run (the memory the session's
    weights and buffers land in), more than the shift's cost; one session per model would
    bake that into the TSM / no-shift ratio, rotating several averages it out.
    """

    engine_kind: str
    model: str
    engines: list[Engine]
    model_only: LatencyMeter = field(default_factory=lambda: LatencyMeter(("inference",)))
    end_to_end: LatencyMeter = field(default_factory=lambda: LatencyMeter((*STAGES, "stream_start")))
    block_p50: dict[str, list[float]] = field(default_factory=lambda: {"model_only": [], "end_to_end": []})
    contended: LatencyMeter = field(default_factory=lambda: LatencyMeter(("inference",)))  # --contend blocks
    e2e_intervals: int = 0  # frames after the first of each streaming run
    e2e_span_s: float = 0.0  # seconds from the first to the last frame end of each run
    current: int = 0  # index of the instance the running block uses

    @property
    def engine(self) -> Engine:
        return self.engines[self.current]

    def use(self, block: int) -> None:
        """Run block ``block`` on its instance (round-robin over the sessions)."""
        self.current = block % len(self.engines)

    def run_model_only(self, frames: list[np.ndarray], meter: LatencyMeter | None = None) -> None:
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
            (meter or self.model_only).add("inference", block[-1])
        if meter is None:  # the quiet blocks feed the paired ratios
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
        out = {"model_only": model_only, "end_to_end": end_to_end}
        if self.contended.samples("inference"):  # --contend: model-only with the neighbour running
            contended = self.contended.summary()
            contended.update(frames=contended["stages"]["inference"]["count"],
                             fps=1e3 / contended["stages"]["inference"]["mean"])
            out["contended"] = contended
        return out


def _open_engines(kind: str, models: list[BenchModel], threads: int, out_dir: Path,
                  spinning: bool = False) -> list[Engine]:
    """One engine per model; the ONNX files are exported on first need (verification is export's job)."""
    if kind == "torch":  # a copy of the module per instance: its own weight memory, as a new session has
        return [create_engine("torch", copy.deepcopy(m.deploy), meta=m.meta, threads=threads) for m in models]
    from tsmdet.deploy.export import export_deploy_model
    from tsmdet.deploy.recognizer_export import export_recognizer

    for m in models:
        if m.onnx is None:
            m.onnx = out_dir / f"{m.meta.model_name}.onnx"
            export = export_recognizer if m.meta.task == "recognition" else export_deploy_model
            export(m.deploy, m.meta, m.onnx, verify=False)
    if kind == "onnx":
        return [create_engine("onnx", m.onnx, threads=threads, allow_spinning=spinning) for m in models]
    return [engine_from_model_file(kind, m.onnx, cache_dir=out_dir / "trt_cache") for m in models]


def measure(requested: list[str], models: list[BenchModel], decoded: list[np.ndarray], video: str, frames: int,
             warmup: int, block_frames: int, threads: int, out_dir: Path, contend: bool = False,
             streams: list[int] | None = None, stream_calls: int = 40, spinning: bool = False,
             sessions: int = 2) -> tuple[dict[str, dict[str, Any]], dict[str, dict], dict[str, Any]]:
    """Open every requested engine for both models, warm up, run the interleaved blocks.

    ``sessions``: instances of each (engine, model), rotated over the blocks (:class:`Variant`); at most
    one per block, each warmed up with ``warmup / sessions`` frames (at least 2).

    Returns ``engines`` (availability, version or reason), ``latency`` and ``extra``:
    ``load`` (the machine load sampled at every block, :class:`.contend.LoadMonitor`),
    ``thread_settings`` per engine kind, and ``streams`` per torch/onnx kind when ``streams``
    (stream counts) are given. Each engine sets its own threads (the runtime's thread policy).
    ``contend``: every block also runs each variant model-only with a CPU-bound neighbour.
    """
    sessions = min(sessions, math.ceil(frames / block_frames))  # an instance that runs no block measures nothing
    per_instance_warmup = max(2, math.ceil(warmup / sessions)) if warmup else 0  # the variant's warm-up, spread
    engine_info: dict[str, dict[str, Any]] = {}
    variants: list[Variant] = []
    monitor = LoadMonitor()
    extra: dict[str, Any] = {"thread_settings": {}, "sessions": sessions}
    neighbour = Neighbour(max_s=3600.0) if contend else None
    try:
        for kind in requested:
            try:
                version = require_engine(kind)
                instances = [_open_engines(kind, models, threads, out_dir, spinning) for _ in range(sessions)]
            except EngineUnavailableError as exc:
                logger.warning("engine %s not run: %s", kind, exc)
                engine_info[kind] = {"available": False, "reason": str(exc)}
                continue
            engine_info[kind] = {"available": True, "version": version, "sessions": sessions}
            variants += [Variant(kind, m.key, [pair[i] for pair in instances]) for i, m in enumerate(models)]
            settings = getattr(instances[0][0], "thread_settings", None)
            extra["thread_settings"][kind] = settings.to_dict() if settings is not None else None
        for v in variants:  # allocations, lazy initialisation, caches
            for engine in v.engines:
                for frame in islice(cycle(decoded), per_instance_warmup):
                    engine.infer([frame])
                engine.reset()
        monitor.sample(-1, "start")
        _run_blocks(variants, decoded, video, frames, block_frames, neighbour, monitor)
        if streams:
            extra["streams"] = {}
            for v in variants:
                if v.model == "tsm" and v.engine_kind in ("torch", "onnx"):
                    extra["streams"][v.engine_kind] = measure_streams(v.engine, decoded, streams, stream_calls,
                                                                      max(2, min(10, stream_calls)))
                    monitor.sample(-1, f"streams_{v.engine_kind}")
    finally:
        if neighbour is not None:
            neighbour.close()
        for v in variants:
            for engine in v.engines:
                engine.close()
    extra["load"] = monitor.summary(contend)
    latency: dict[str, dict] = {}
    for v in variants:
        latency.setdefault(v.engine_kind, {})[v.model] = v.summary()
    return engine_info, latency, extra


def _run_blocks(variants: list[Variant], decoded: list[np.ndarray], video: str, frames: int,
                block_frames: int, neighbour: Neighbour | None, monitor: LoadMonitor) -> None:
    """All variants per block, the order reversed every other block (A B | B A | A B ...).

    With a ``neighbour``, each variant's quiet block is followed by a contended model-only
    block (neighbour resumed, then paused again), so both see the same drift.
    """
    stream = list(islice(cycle(decoded), frames))
    blocks = math.ceil(frames / block_frames)
    start = time.perf_counter()
    for b in range(blocks):
        chunk = stream[b * block_frames : (b + 1) * block_frames]
        for v in variants if b % 2 == 0 else variants[::-1]:
            v.use(b)
            v.run_model_only(chunk)
            v.run_end_to_end(video, min(len(chunk) + 1, len(decoded)))  # + 1: the stream start
            if neighbour is not None:
                neighbour.resume()
                try:
                    v.run_model_only(chunk, meter=v.contended)
                finally:
                    neighbour.pause()
        monitor.sample(b, "block")
        logger.info("block %d/%d done (%.0f s)", b + 1, blocks, time.perf_counter() - start)
