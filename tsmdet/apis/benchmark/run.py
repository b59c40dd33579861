"""``run_benchmark``: build both models, decode the video, measure every engine, write the report."""
from __future__ import annotations

import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from tsmdet.apis.defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG
from tsmdet.runtime.threads import check_threads
from tsmdet.utils.cpu import usable_cpu_count

from .measure import ENGINE_KINDS, decode_frames, measure, prepare_video
from .ratios import compute_ratios, stream_scaling
from .report import write_report
from .twins import BenchModel, build_models

logger = logging.getLogger(__name__)


def describe_environment() -> dict[str, Any]:
    """What the numbers depend on besides the model: CPU, cores, load, versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": usable_cpu_count(),
            "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "platform": platform.platform(), "python": sys.version.split()[0], "torch": torch.__version__}


def build_bench_models(config: Path, checkpoint: Path | None,
                       input_size: tuple[int, int] | None) -> tuple[list[BenchModel], tuple[int, int]]:
    """The online TSM model of ``config`` (detector or recognizer) and its no-shift twin, and the input size."""
    from tsmdet.deploy.recognizer_export import is_recognizer_config

    from ..config import load_config

    cfg = load_config(config)
    if is_recognizer_config(cfg):  # online recognizer + its no-shift twin
        from .recognition import build_recognizer_models

        return build_recognizer_models(config, cfg, checkpoint, input_size)
    return build_models(config, checkpoint, input_size)


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
    contend: bool = False,
    streams: list[int] | None = None,
    stream_calls: int = 40,
    spinning: bool = False,
    sessions: int = 6,
) -> dict[str, Any]:
    """Measure, write ``benchmark.json``/``.md``/``.png`` into ``out_dir`` and return the report.

    Args:
        config: model config; None: the built-in synthetic Faster R-CNN, with its shipped
            checkpoint when that exists and no ``checkpoint`` is given.
        checkpoint: loaded strictly; None keeps random weights (latency only).
        engines: kinds to run (default: all; an unavailable one is reported with the reason).
        frames, warmup: measured and warm-up frames per variant.
        source: video to decode; None renders a synthetic one at the network input size.
        threads: intra-op threads of torch and onnxruntime (default: the runtime's thread policy,
            1 on <= 2 usable cores else cores - 1; :mod:`tsmdet.runtime.threads`).
        input_size: network input (w, h); default the config's test scale padded to the divisor.
        block_frames: frames per variant per interleaved block.
        contend: also run every block model-only with a CPU-bound neighbour process
            (:mod:`.contend`); adds ``contended`` parts and the ``contended_tail`` check.
        streams: stream counts for the batched-streams run (:mod:`.streams`), e.g. [1, 2, 4, 8];
            ``stream_calls`` measured calls per count. The ONNX files are exported with a
            dynamic batch axis in any case (one export serves every count).
        spinning: let onnxruntime's intra-op pool spin (default off: the thread policy).
        sessions: independent instances of each (engine, model), blocks rotated over them (at most
            one per block; the report says how many ran): two sessions of one file differ by up to
            ~4 % in speed, consistently (see :class:`.measure.Variant`), and the shift's cost is
            1-3 %: more instances average that part of the run-to-run scatter out (not all of it:
            docs/recognition.md, "Latency").
    """
    if streams is not None and (not streams or any(b < 1 for b in streams)):
        raise ValueError(f"stream counts must be >= 1, got {streams}")
    if sessions < 1:
        raise ValueError(f"sessions must be >= 1, got {sessions}")
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
    threads = check_threads(threads)
    environment = describe_environment()  # the load before this run adds its own

    models, size = build_bench_models(config, Path(checkpoint) if checkpoint else None, input_size)
    video = prepare_video(source, out_dir, size, frames)
    decoded = decode_frames(video["path"], frames)
    video.update(size=[decoded[0].shape[1], decoded[0].shape[0]], frames=len(decoded))
    meta = models[0].meta
    image = meta.preprocessing.apply(decoded[0])[0]  # the deployment contract, as the engines prepare frames
    costs = {m.key: m.cost(torch.from_numpy(image)[None]) for m in models}
    engine_info, latency, extra = measure(requested, models, decoded, video["path"], frames, warmup,
                                           block_frames, threads, out_dir, contend=contend, streams=streams,
                                           stream_calls=stream_calls, spinning=spinning, sessions=sessions)
    for m in models:
        costs[m.key]["onnx"] = str(m.onnx) if m.onnx else None
    report = {
        "config": str(config), "checkpoint": str(checkpoint) if checkpoint else None,
        "weights": "checkpoint" if checkpoint else "random", "input_size": list(size), "video": video,
        "frames": frames, "warmup": warmup, "block_frames": block_frames, "threads": threads,
        "sessions": extra["sessions"],
        "environment": environment, "models": costs, "engines": engine_info, "latency": latency,
        "ratios": compute_ratios(latency),
        "contend": contend, "thread_settings": extra["thread_settings"], "load": extra["load"],
        "streams": extra.get("streams"), "stream_scaling": stream_scaling(extra.get("streams")),
    }
    if meta.task == "recognition":  # online per-frame vs re-running the offline T-frame clip
        from .recognition import clip_vs_online

        report["recognition"] = clip_vs_online(models[0])
    report["files"] = write_report(report, out_dir)
    return report
