"""Score a deployed engine on an ImageNet VID (CocoVID json) set: the numbers of what is deployed.

``tools/test.py`` scores the mmdet model; this runs the engine a deployment runs (torch deploy
module, onnxruntime on an fp32 / fp16 / int8 ONNX file, TensorRT) over every video, frame by
frame in frame order, with the shift state reset at each video start, exactly as a stream
does. The frames go through the engine's own preprocessing (the contract in the model's
metadata), the detections come back in original-frame pixels, and the report is the one
``tools/test.py`` writes (``tsmdet.evaluation.vid_metric``: AP50, devkit mAP, slow / medium /
fast, per class), so the two are compared number by number.
"""
from __future__ import annotations

import inspect
import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tsmdet.evaluation.vid_metric import evaluate_vid, load_vid_gt, write_report
from tsmdet.runtime import Detections, Engine

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "Data/VID"  # where the converter's file_name is relative to, when info does not say


@dataclass(frozen=True)
class EngineEvalResult:
    """What :func:`evaluate_engine` wrote and measured."""

    report: dict[str, Any]
    report_path: Path
    markdown_path: Path
    detections_path: Path
    frames: int
    videos: int
    inference_ms_p50: float  # engine.run per frame (preprocess + graph + postprocess)


def video_frames(gt: dict, max_videos: int | None = None) -> list[tuple[int, list[dict]]]:
    """(video_id, images in frame order) for every video of ``gt`` (videos in id order)."""
    by_video: dict[int, list[dict]] = defaultdict(list)
    for image in gt["images"]:
        by_video[int(image["video_id"])].append(image)
    videos = [(vid, sorted(imgs, key=lambda im: int(im["frame_id"]))) for vid, imgs in sorted(by_video.items())]
    return videos[:max_videos] if max_videos else videos


def image_root(gt: dict, data_root: str | Path) -> Path:
    """The folder ``file_name`` is relative to: ``data_root / info.file_name_prefix`` (default Data/VID)."""
    prefix = (gt.get("info") or {}).get("file_name_prefix") or DEFAULT_PREFIX
    return Path(data_root) / prefix


def category_ids(gt: dict, classes: Sequence[str]) -> dict[int, int]:
    """Engine label -> ground-truth category id, by class name; every model class must be in the GT."""
    by_name = {c["name"]: int(c["id"]) for c in gt["categories"]}
    missing = [c for c in classes if c not in by_name]
    if missing:
        raise ValueError(f"model classes {missing} are not categories of the ground truth "
                         f"(it has {sorted(by_name)})")
    return {label: by_name[name] for label, name in enumerate(classes)}


def to_coco(dets: Detections, image_id: int, cat_of: dict[int, int]) -> list[dict]:
    """One frame's detections as COCO results (``bbox`` = x, y, w, h in original pixels)."""
    out = []
    for (x1, y1, x2, y2), score, label in zip(dets.boxes.tolist(), dets.scores.tolist(), dets.labels.tolist()):
        out.append({"image_id": image_id, "category_id": cat_of[int(label)],
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(score)})
    return out


def _read_frame(path: Path) -> np.ndarray:
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"cannot read frame {path}")
    return frame  # (H, W, 3) uint8 BGR


def run_engine_on_videos(engine: Engine, gt: dict, data_root: str | Path, max_videos: int | None = None,
                         progress: bool = True) -> tuple[list[dict], list[float], int]:
    """All frames of all videos through ``engine``; returns (COCO detections, per-frame ms, videos)."""
    from tqdm import tqdm

    videos = video_frames(gt, max_videos)
    root = image_root(gt, data_root)
    cat_of = category_ids(gt, engine.meta.classes)
    results: list[dict] = []
    times: list[float] = []
    total = sum(len(images) for _, images in videos)
    with tqdm(total=total, desc=f"eval {engine.meta.model_name or 'engine'}", unit="frame",
              disable=not progress) as bar:
        for _, images in videos:
            state = engine.new_state()  # a new video: zero shift caches
            for image in images:
                frame = _read_frame(root / image["file_name"])
                t0 = time.perf_counter()
                (dets,), (state,) = engine.run([frame], [state])
                times.append(1e3 * (time.perf_counter() - t0))
                results.extend(to_coco(dets, int(image["id"]), cat_of))
                bar.update(1)
    return results, times, len(videos)


def _evaluate(gt: dict, dets: list[dict], convention: str | None) -> dict[str, Any]:
    """``evaluate_vid``, passing ``convention`` where this version of the metric accepts it."""
    if convention is not None and "convention" in inspect.signature(evaluate_vid).parameters:
        return evaluate_vid(gt, dets, convention=convention)
    if convention not in (None, "fgfa"):
        raise ValueError(f"this version of tsmdet.evaluation.vid_metric has no convention {convention!r}")
    return evaluate_vid(gt, dets)


def subset_gt(gt: dict, videos: list[tuple[int, list[dict]]]) -> dict:
    """``gt`` restricted to ``videos`` (for ``max_videos``): images, annotations and videos of those only."""
    keep_images = {int(im["id"]) for _, images in videos for im in images}
    keep_videos = {vid for vid, _ in videos}
    return {**gt, "images": [im for im in gt["images"] if int(im["id"]) in keep_images],
            "annotations": [a for a in gt["annotations"] if int(a["image_id"]) in keep_images],
            "videos": [v for v in gt.get("videos", []) if int(v["id"]) in keep_videos]}


def evaluate_engine(engine: Engine, ann: str | Path, data_root: str | Path, out: str | Path,
                    convention: str | None = "fgfa", max_videos: int | None = None,
                    progress: bool = True) -> EngineEvalResult:
    """Run ``engine`` over the videos of ``ann`` and write ``out`` (report json), ``.md`` and ``.bbox.json``.

    Args:
        engine: any :class:`tsmdet.runtime.Engine` (``tsmdet.apis.engines.open_engine``).
        ann: CocoVID ground truth json (``tools/convert_imagenet_vid.py``).
        data_root: the data set folder (``file_name`` is relative to its ``Data/VID``).
        convention: VID metric convention ('fgfa' or 'coco'), passed to ``evaluate_vid``.
        max_videos: only the first N videos (ids in order); the ground truth is cut to them.
    """
    gt = load_vid_gt(ann)
    videos = video_frames(gt, max_videos)
    if not videos:
        raise ValueError(f"{ann}: no images")
    if max_videos:
        gt = subset_gt(gt, videos)
    dets, times, num_videos = run_engine_on_videos(engine, gt, data_root, max_videos, progress)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dets_path = out.with_suffix(".bbox.json")
    dets_path.write_text(json.dumps(dets))
    report = _evaluate(gt, dets, convention)
    report["engine"] = {"kind": type(engine).__name__, "model": engine.meta.model_name,
                        "precision": engine.meta.precision, "frames": len(times), "videos": num_videos,
                        "run_ms_p50": float(np.median(times)) if times else 0.0}
    json_path, md_path = write_report(report, out)
    logger.info("%s: AP50 %.2f over %d frames of %d videos (engine.run p50 %.2f ms)", type(engine).__name__,
                100 * (report["ap50"] or 0.0), len(times), num_videos, report["engine"]["run_ms_p50"])
    return EngineEvalResult(report, json_path, md_path, dets_path, len(times), num_videos,
                            report["engine"]["run_ms_p50"])


def _ap50(report: dict, cls: str | None = None) -> float | None:
    value = report.get("ap50") if cls is None else (report.get("per_class", {}).get(cls) or {}).get("ap50")
    return None if value is None else 100.0 * float(value)


def comparison_table(reports: Sequence[tuple[str, dict]]) -> str:
    """One Markdown table of AP50 (overall and per class) of several VID reports, with each row's gap
    to the first (the reference, e.g. ``tools/test.py``'s ``vid.REPORT.json``): the deployed-vs-evaluated
    check in one look. Reports must share their classes."""
    if not reports:
        raise ValueError("no reports to compare")
    classes = sorted(reports[0][1].get("per_class", {}))
    conventions = {r.get("convention") for _, r in reports} - {None}
    if len(conventions) > 1:
        raise ValueError(f"reports use different metric conventions {sorted(conventions)}; compare like with like")
    head = "| run | AP50 | gap | " + " | ".join(f"{c} | gap" for c in classes) + " |"
    rule = "|---|---:|---:|" + "---:|---:|" * len(classes)
    ref = reports[0][1]

    def cell(report: dict, cls: str | None) -> str:
        value, base = _ap50(report, cls), _ap50(ref, cls)
        if value is None:
            return "n/a | "
        gap = "" if base is None or report is ref else f"{value - base:+.2f}"
        return f"{value:.2f} | {gap}"

    rows = [f"| {name} | {cell(r, None)} | " + " | ".join(cell(r, c) for c in classes) + " |" for name, r in reports]
    return "\n".join([head, rule, *rows])


def load_report(path: str | Path) -> dict:
    """A VID report json (tools/test.py's ``vid.REPORT.json`` or eval_engine's), with a clear error."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable VID report ({err})") from None
    if "ap50" not in report:
        raise ValueError(f"{path}: not a VID report (no 'ap50')")
    return report
