"""The benchmark figure: latency percentiles and the end-to-end stage breakdown per variant."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .twins import MODEL_KEYS

E2E_STAGES = ("decode", "preprocess", "inference", "postprocess")


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
