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

Modules: :mod:`.twins` (the TSM model and its no-shift twin), :mod:`.measure` (variants,
interleaved blocks), :mod:`.ratios` (targets), :mod:`.report` (json, Markdown), :mod:`.plots`
(figure), :mod:`.contend` (the neighbour process, load sampling), :mod:`.streams` (batched
streams), :mod:`.run` (:func:`run_benchmark`, the one call tools/benchmark.py makes).

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
the p50s), op, target, passed, numerator, numerator_ms, denominator, denominator_ms}], ``files``;
``contend`` (bool), ``thread_settings`` {kind: {backend, intra_op, inter_op, spinning, usable_cores,
default, rule}}, ``load`` {samples [{t_s, block, phase, load_avg_1min, cpu_busy}], first, last, min,
max, changed, allowed_change, cpu_busy_mean}, ``streams`` (null, or {engine: {counts: {B: {streams,
call_ms, inference_ms, per_frame_ms, fps}}, scaling}}), ``stream_scaling`` [{engine, streams, value,
target, passed, fps, fps_one}]. With ``contend`` each latency entry also has ``contended`` (model-only
with the neighbour running) and ``ratios`` a ``contended_tail`` (p99/p50) per engine.
"""
from __future__ import annotations

from .measure import ENGINE_KINDS, REWARM_FRAMES
from .plots import E2E_STAGES, plot_report
from .ratios import E2E_OVERHEAD_MAX, ONNX_SPEEDUP_MIN, TSM_OVERHEAD_MAX, compute_ratios
from .report import CHECK_LABELS, format_markdown, write_report
from .run import run_benchmark
from .twins import MODEL_KEYS, MODEL_LABELS, no_shift_model_cfg

__all__ = [
    "CHECK_LABELS", "E2E_OVERHEAD_MAX", "E2E_STAGES", "ENGINE_KINDS", "MODEL_KEYS", "MODEL_LABELS",
    "ONNX_SPEEDUP_MIN", "REWARM_FRAMES", "TSM_OVERHEAD_MAX", "compute_ratios", "format_markdown",
    "no_shift_model_cfg", "plot_report", "run_benchmark", "write_report",
]
