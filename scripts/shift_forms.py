"""Latency of the online shift's ONNX spellings on onnxruntime, paired per call against the no-shift twin.

    python scripts/shift_forms.py                                   # shipped R-18 Faster R-CNN, 160x128
    python scripts/shift_forms.py --input-size 1024x640 --calls 25
    python scripts/shift_forms.py --config configs/recognition/tsm_mbv2_jester_online.py

Exports the config's online TSM model in both spellings of the shift
(:func:`tsmdet.ops.temporal_shift.shift_export_form`: ``convs``, the default, and ``concat``) and its
no-shift twin, opens each file ``--sessions`` times (onnxruntime sessions of one file differ by a few
per cent, consistently), and calls them in turn, one frame each, order reversed every round, the
caches fed back. Prints each form's median ms and its ratio to the twin (per session too) and
writes ``shift_forms.json``. Finer-grained than ``tools/benchmark.py``'s blocks, which is what
telling 1 % apart on a shared machine needs; it answers which spelling to export, not the latency
a user sees (that is the benchmark's). docs/deployment.md, "The shift on onnxruntime".
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsmdet.utils.cli import frame_size, run_tool  # noqa: E402  (after the path: runs from a checkout)

FORMS = ("convs", "concat")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, help="model config (default: the shipped synthetic Faster R-CNN R18)")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint (default: the shipped one with the default "
                                                        "config; else random weights: latency does not depend on them)")
    parser.add_argument("--input-size", type=frame_size, metavar="WxH", help="network input (default: the config's)")
    parser.add_argument("--sessions", type=int, default=3, help="sessions per file (default: 3)")
    parser.add_argument("--calls", type=int, default=100, help="measured calls per session and file (default: 100)")
    parser.add_argument("--out-dir", type=Path, default=Path("outputs/shift_forms"), help="exports and JSON")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.calls < 1:
        parser.error("--sessions and --calls must be >= 1")
    return args


def export_forms(args: argparse.Namespace) -> tuple[dict[str, Path], object]:
    """The twin and both spellings of the TSM model as ONNX files in ``args.out_dir``."""
    from tsmdet.apis.benchmark.run import build_bench_models
    from tsmdet.apis.defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG
    from tsmdet.deploy.export import export_deploy_model
    from tsmdet.deploy.recognizer_export import export_recognizer
    from tsmdet.ops.temporal_shift import shift_export_form

    config = args.config or DEFAULT_CONFIG
    checkpoint = args.checkpoint or (DEFAULT_CHECKPOINT if args.config is None and DEFAULT_CHECKPOINT.is_file() else None)
    (tsm, twin), _ = build_bench_models(Path(config), checkpoint, args.input_size)
    export = export_recognizer if tsm.meta.task == "recognition" else export_deploy_model
    args.out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"no_shift": args.out_dir / "no_shift.onnx"}
    export(twin.deploy, twin.meta, paths["no_shift"], verify=False)
    for form in FORMS:
        paths[form] = args.out_dir / f"tsm_{form}.onnx"
        with shift_export_form(form):
            export(tsm.deploy, tsm.meta, paths[form], verify=False)
    return paths, tsm.meta


def measure(paths: dict[str, Path], meta: object, sessions: int, calls: int) -> dict[str, list[float]]:
    """Median ms per (file, session), every file called in turn per round (order reversed every round)."""
    from tsmdet.runtime import create_engine

    frame = np.random.default_rng(0).integers(0, 256, (*meta.input_size[::-1], 3), dtype=np.uint8)
    image = meta.preprocessing.apply(frame)[0][None]
    engines = {k: [create_engine("onnx", p) for _ in range(sessions)] for k, p in paths.items()}
    states = {k: [e.new_state() for e in es] for k, es in engines.items()}
    times: dict[str, list[list[float]]] = {k: [[] for _ in range(sessions)] for k in paths}
    keys = list(paths)
    for n in range(calls + 3):  # 3 unmeasured rounds: allocations, lazy initialisation
        for s in range(sessions):
            for k in keys if n % 2 == 0 else keys[::-1]:
                t0 = time.perf_counter()
                _, states[k][s] = engines[k][s].step(image, states[k][s])
                if n >= 3:
                    times[k][s].append(1e3 * (time.perf_counter() - t0))
    for es in engines.values():
        for e in es:
            e.close()
    return {k: [statistics.median(t) for t in per] for k, per in times.items()}


def compare_forms(argv: list[str] | None = None) -> dict:
    """Export, measure, print the table; returns the report written to ``shift_forms.json``."""
    args = parse_args(argv)
    paths, meta = export_forms(args)
    medians = measure(paths, meta, args.sessions, args.calls)
    base = statistics.mean(medians["no_shift"])
    rows = []
    print(f"{meta.model_name} at {meta.input_size[0]}x{meta.input_size[1]}, {args.sessions} sessions x {args.calls} calls")
    print("| export | ms (mean of session medians) | / no shift | per session |\n|---|---:|---:|---|")
    for k, per in medians.items():
        ms = statistics.mean(per)
        ratios = [a / b for a, b in zip(per, medians["no_shift"])]
        rows.append(dict(export=k, ms=ms, ratio=ms / base, per_session=ratios, file=str(paths[k])))
        print(f"| {k} | {ms:.3f} | {ms / base:.4f} | {' '.join(f'{r:.3f}' for r in ratios)} |")
    report = dict(model=meta.model_name, input_size=list(meta.input_size), sessions=args.sessions,
                  calls=args.calls, rows=rows)
    (args.out_dir / "shift_forms.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    compare_forms(argv)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))  # the README exit codes: one line on bad input
