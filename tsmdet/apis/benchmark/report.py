"""The benchmark report files: ``benchmark.json``, the Markdown tables and (via :mod:`.plots`) the figure."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tsmdet.streaming import format_latency_table

from .plots import E2E_STAGES, plot_report
from .twins import MODEL_KEYS, MODEL_LABELS

logger = logging.getLogger(__name__)

CHECK_LABELS = {
    "tsm_overhead": "online TSM / no shift (model-only)",
    "onnx_speedup": "PyTorch eager / onnxruntime (TSM, model-only)",
    "e2e_overhead": "end-to-end / model-only (TSM)",
    "contended_tail": "p99 / p50 with one CPU-bound neighbour (TSM, model-only; pooled column: p90 / p50)",
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
            f"{report['block_frames']} with all variants interleaved (order reversed every other block), "
            f"{report.get('sessions', 1)} instance(s) of each variant rotated over the blocks. "
            f"{report['threads']} intra-op threads; {env['cpu']}, {env['cores']} cores{load}; "
            f"torch {env['torch']}.{_load_line(report)}")


def _load_line(report: dict[str, Any]) -> str:
    """The load during the run and the engines' thread settings (absent from older reports)."""
    out = ""
    load = report.get("load")
    if load and load.get("min") is not None:
        flag = (f" **Load changed during the run** (more than {load['allowed_change']:.1f}): compare "
                "only the paired ratios." if load["changed"] else "")
        busy = f", CPU busy {100 * load['cpu_busy_mean']:.0f} %" if load.get("cpu_busy_mean") is not None else ""
        out += (f" Load during the run (1-min average, sampled every block): {load['min']:.2f}-{load['max']:.2f}"
                f"{busy}.{flag}")
    for kind, t in (report.get("thread_settings") or {}).items():
        if t:
            spin = "" if t["spinning"] is None else f", spinning {'on' if t['spinning'] else 'off'}"
            out += f" {kind}: intra-op {t['intra_op']}, inter-op {t['inter_op']}{spin}."
    return out


def _extra_sections(report: dict[str, Any]) -> list[str]:
    """Contention and batched-streams tables, when the run had them."""
    lines: list[str] = []
    if report.get("contend"):
        lines += ["", "## Under contention (one CPU-bound neighbour process)", "",
                  "Model-only ms; each variant's quiet block is followed by a contended block in the same run.", "",
                  "| engine | model | quiet p50 / p90 / p99 | contended p50 / p90 / p99 | contended p99/p50 |",
                  "|---|---|---:|---:|---:|"]
        for engine, per_model in report["latency"].items():
            for key in MODEL_KEYS:
                part = per_model[key]
                if "contended" not in part:
                    continue
                quiet, busy = part["model_only"]["stages"]["inference"], part["contended"]["stages"]["inference"]
                lines.append(f"| {engine} | {MODEL_LABELS[key]} | {_ms3(quiet)} | {_ms3(busy)} | "
                             f"{busy['p99'] / busy['p50']:.2f} |")
    if report.get("streams"):
        lines += ["", "## Batched streams (one engine, B streams per call, own state each)", "",
                  "| engine | streams | call p50 / p90 / p99 ms (= per-stream latency) | inference p50 ms | "
                  "ms per frame | aggregate frames/s | vs 1 stream |", "|---|---:|---:|---:|---:|---:|---:|"]
        for engine, result in report["streams"].items():
            for c in result["counts"].values():
                scale = result.get("scaling", {}).get(str(c["streams"]))
                lines.append(f"| {engine} | {c['streams']} | {_ms3(c['call_ms'])} | {c['inference_ms']['p50']:.2f} | "
                             f"{c['per_frame_ms']:.2f} | {c['fps']:.1f} | "
                             f"{'' if scale is None else f'{scale:.2f}x'} |")
        for chk in report.get("stream_scaling") or []:
            result = "PASS" if chk["passed"] else "**FAIL**"
            lines.append(f"\n{chk['engine']}: {chk['streams']} streams give {chk['value']:.2f}x one stream's "
                         f"frames/s (target {chk['op']} {chk['target']}): {result}")
    return lines


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
    rec = report.get("recognition")
    if rec:  # recognizers: online per-frame cost vs re-running the offline clip for every frame
        lines += ["", "## Online frame vs offline clip", "",
                  f"| torch eager, {rec.get('threads', 1)} thread(s) | p50 / p90 / p99 ms | GFLOPs |", "|---|---:|---:|"]
        for name, label in (("online_frame", "online, one frame + caches"),
                            ("offline_clip", f"offline, {rec['num_segments']}-frame clip")):
            r = rec[name]
            lines.append(f"| {label} | {r['p50_ms']:.2f} / {r['p90_ms']:.2f} / {r['p99_ms']:.2f} | "
                         f"{r['gflops']:.3f} |")
        lines += ["", f"Offline clip / online frame: **{rec['latency_ratio']:.2f}x** latency, "
                  f"{rec['flops_ratio']:.2f}x FLOPs."]
    lines += _extra_sections(report)
    missing = {kind: info["reason"] for kind, info in report["engines"].items() if not info["available"]}
    if missing:
        lines += ["", "## Engines not run", ""] + [f"* {kind}: {reason}" for kind, reason in missing.items()]
    for engine, per_model in report["latency"].items():
        lines += ["", f"<details><summary>{engine}, online TSM, end-to-end stages</summary>", "", "```",
                  format_latency_table(per_model["tsm"]["end_to_end"]), "```", "", "</details>"]
    return "\n".join(lines) + "\n"
