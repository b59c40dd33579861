"""The VID report: a one-line summary for logs, and the JSON + Markdown report files."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .motion import MOTION_BUCKETS

logger = logging.getLogger(__name__)


def format_summary(result: dict[str, Any]) -> str:
    """One line with the headline numbers, for logs."""
    keys = ("ap50", "ap", "devkit_map", "ap50_slow", "ap50_medium", "ap50_fast")
    parts = [f"{k}={_fmt(result[k])}" for k in keys]
    counts = f"{result['num_images']} images, {result['num_gt']} GT, {result['num_dets']} dets"
    if "convention" in result:
        counts += f", {result['convention']} convention"
    return ", ".join(parts) + f" ({counts})"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f}"


_REPORT_NOTES = (
    "AP / AP50: pycocotools COCOeval (101-point interpolation). Devkit mAP: ILSVRC VID devkit, "
    "VOC all-point AP with per-GT IoU threshold min(0.5, wh/((w+10)(h+10))). Slow / medium / fast: "
    "FGFA motion split (motion IoU over +-10 frames: > 0.9 slow, < 0.7 fast), devkit matching "
    "with GT outside the split ignored. Classes without GT are n/a and left out of the means. "
    "Numbers are in percent."
)
_CONVENTION_NOTES = {
    "fgfa": "Convention fgfa (devkit / FGFA exact): +1 pixel on widths and heights in IoU, areas and "
            "thresholds; a box without neighbours in the motion window is slow (motion IoU 1.0); frames "
            "without GT enter FGFA's empty weight as motion IoU 0; closed ranges [0.9, 1] slow, "
            "[0.7, 0.9] medium, [0, 0.7] fast. AP / AP50 are pycocotools under every convention.",
    "coco": "Convention coco: continuous boxes (w = x2 - x1); a box without neighbours in the motion "
            "window is fast (motion IoU 0); disjoint buckets > 0.9 slow, < 0.7 fast. AP / AP50 are "
            "pycocotools under every convention.",
}


def write_report(result: dict[str, Any], out_json_path: str | Path) -> tuple[Path, Path]:
    """Write ``result`` as JSON and a Markdown report with the same stem next to it."""
    json_path = Path(out_json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path = json_path.with_suffix(".md")
    md_path.write_text(render_markdown(result))
    logger.info("wrote %s and %s", json_path, md_path)
    return json_path, md_path


def render_markdown(result: dict[str, Any]) -> str:
    """Markdown report: headline numbers, the motion split with its GT counts, per-class table."""
    lines = [
        "# ImageNet VID evaluation", "",
        f"{result['num_images']} images, {result['num_gt']} ground-truth boxes, "
        f"{result['num_dets']} detections. Convention: {result.get('convention', 'coco')}.", "",
        "| AP50 | AP | devkit mAP |", "|---:|---:|---:|",
        f"| {_fmt(result['ap50'])} | {_fmt(result['ap'])} | {_fmt(result['devkit_map'])} |", "",
        "## Motion speed (FGFA)", "",
        "| split | AP50 (devkit) | GT boxes |", "|---|---:|---:|",
        *(f"| {s} | {_fmt(result[f'ap50_{s}'])} | {result[f'num_gt_{s}']} |" for s in MOTION_BUCKETS), "",
        "## Per class", "",
        "| class | GT | AP50 | AP | devkit AP | slow | medium | fast |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["per_class"].items():
        cells = [row["ap50"], row["ap"], row["devkit_ap"], *(row[f"ap50_{s}"] for s in MOTION_BUCKETS)]
        lines.append(f"| {name} | {row['num_gt']} | " + " | ".join(_fmt(c) for c in cells) + " |")
    lines += ["", _REPORT_NOTES, "", _CONVENTION_NOTES.get(result.get("convention", "coco"), ""), ""]
    return "\n".join(lines)
