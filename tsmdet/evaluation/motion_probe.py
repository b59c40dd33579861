"""Time-reversal probe: does a detector tell the motion pair apart by the direction they move?

The synthetic ``car`` and ``bus`` differ only in the sign of their horizontal
motion (docs/synthetic_data.md), so playing a video backwards turns every car
into a bus and vice versa while leaving each single frame unchanged. The probe
runs every validation video forwards and backwards (two independent streams,
caches reset at the start) and, for each ground-truth box of the pair, compares
the best score the detector gives the true class with the best score it gives
the other class of the pair (detections with IoU >= 0.5 with the box; a tie,
e.g. neither class detected, counts half).

A per-frame detector gives each frame the same scores in both directions, so
its true-class wins in one direction are losses in the other: its *direction
accuracy* (mean of the forward and backward win rates) is 50 % by construction,
whatever its appearance quality. A detector that uses time scores above 50 %.
This isolates the temporal signal from localisation, which AP mixes in.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsmdet.evaluation.vid_metric import SPLITS, compute_motion_iou, motion_bucket, paired_iou

logger = logging.getLogger(__name__)

MATCH_IOU = 0.5


@dataclass(frozen=True)
class _Box:
    frame: int  # position in the video (0-based, forward order)
    cls: str
    xyxy: np.ndarray


def _pair_scores(dets: object, box: np.ndarray, pair: Sequence[str]) -> np.ndarray:
    """Best score per class of ``pair`` among detections overlapping ``box`` by >= MATCH_IOU (0 if none)."""
    out = np.zeros(len(pair))
    if len(dets) == 0:  # type: ignore[arg-type]
        return out
    iou = paired_iou(dets.boxes.astype(np.float64), np.repeat(box[None], len(dets), axis=0))  # type: ignore[attr-defined]
    names = np.asarray(dets.class_names)  # type: ignore[attr-defined]
    for k, name in enumerate(pair):
        hit = (iou >= MATCH_IOU) & (names == name)
        if hit.any():
            out[k] = float(dets.scores[hit].max())  # type: ignore[attr-defined]
    return out


def _video_boxes(gt: dict, pair: Sequence[str]) -> tuple[dict[int, list[dict]], dict[int, list[_Box]], np.ndarray]:
    """Frames per video (sorted) and the pair's GT boxes per video, with each box's motion bucket."""
    names = {c["id"]: c["name"] for c in gt["categories"]}
    images = {im["id"]: im for im in gt["images"]}
    frames: dict[int, list[dict]] = {}
    for im in gt["images"]:
        frames.setdefault(im["video_id"], []).append(im)
    for v in frames.values():
        v.sort(key=lambda im: im["frame_id"])
    anns = [a for a in gt["annotations"] if names[a["category_id"]] in pair]
    xyxy = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                     for a in anns], dtype=np.float64).reshape(-1, 4)
    video = np.array([images[a["image_id"]]["video_id"] for a in anns], dtype=np.int64)
    frame = np.array([images[a["image_id"]]["frame_id"] for a in anns], dtype=np.int64)
    instance = np.array([a.get("instance_id", a["id"]) for a in anns], dtype=np.int64)
    buckets = motion_bucket(compute_motion_iou(video, instance, frame, xyxy)) if anns else np.zeros(0, np.int64)
    boxes: dict[int, list[_Box]] = {}
    for a, b in zip(anns, xyxy):
        im = images[a["image_id"]]
        pos = next(i for i, f in enumerate(frames[im["video_id"]]) if f["id"] == im["id"])
        boxes.setdefault(im["video_id"], []).append(_Box(pos, names[a["category_id"]], b))
    return frames, boxes, buckets


def probe_direction(engine: object, gt: dict, image_root: str | Path, pair: Sequence[str] = ("car", "bus"),
                    read_image: Callable[[Path], np.ndarray] | None = None,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Run the time-reversal probe with ``engine`` (a tsmdet.runtime Engine with >= 2 streams).

    Returns win rates (true class of the pair scored above the other) forwards,
    backwards, their mean (the direction accuracy) and the same per motion bucket,
    plus the mean score margin; ``progress`` is called with the frames done per video.
    """
    if len(pair) != 2:
        raise ValueError(f"the probe needs a pair of classes, got {pair}")
    if read_image is None:
        import cv2

        def read_image(path: Path) -> np.ndarray:
            img = cv2.imread(str(path))
            if img is None:
                raise ValueError(f"cannot read image {path}")
            return img

    root = Path(image_root)
    frames, boxes, buckets = _video_boxes(gt, pair)
    swap = {pair[0]: pair[1], pair[1]: pair[0]}
    wins = np.zeros((2, len(buckets)))  # [forward, backward] per box: 1 win, 0.5 tie, 0 loss
    margins = np.zeros((2, len(buckets)))
    k = 0
    for vid in sorted(frames):
        video = frames[vid]
        n = len(video)
        per_frame: list[list[object]] = [[None, None] for _ in range(n)]
        engine.reset()  # type: ignore[attr-defined]
        for t in range(n):
            images = [read_image(root / video[t]["file_name"]), read_image(root / video[n - 1 - t]["file_name"])]
            fwd, bwd = engine.infer(images, streams=[0, 1])  # type: ignore[attr-defined]
            per_frame[t][0] = fwd
            per_frame[n - 1 - t][1] = bwd
        for box in boxes.get(vid, []):
            for d, true_cls in enumerate((box.cls, swap[box.cls])):
                s = _pair_scores(per_frame[box.frame][d], box.xyxy, pair)
                true_score = s[list(pair).index(true_cls)]
                other_score = s[list(pair).index(swap[true_cls])]
                wins[d, k] = 1.0 if true_score > other_score else 0.5 if true_score == other_score else 0.0
                margins[d, k] = true_score - other_score
            k += 1
        if progress is not None:
            progress(n)

    def rates(mask: np.ndarray) -> dict:
        if not mask.any():
            return {"num_boxes": 0}
        fwd, bwd = float(wins[0, mask].mean()), float(wins[1, mask].mean())
        return {"num_boxes": int(mask.sum()), "forward_win": fwd, "backward_win": bwd,
                "direction_accuracy": (fwd + bwd) / 2, "mean_margin": float(margins[:, mask].mean())}

    everything = np.ones(len(buckets), dtype=bool)
    return {"pair": list(pair), **rates(everything),
            "by_motion": {s: rates(buckets == i) for i, s in enumerate(SPLITS)}}


def format_probe(result: dict) -> str:
    """A Markdown table of a probe result."""
    lines = ["| boxes | split | forward win | backward win | direction accuracy | mean margin |",
             "|---|---|---:|---:|---:|---:|"]
    rows = [("all", result)] + list(result["by_motion"].items())
    for name, r in rows:
        if r["num_boxes"] == 0:
            continue
        lines.append(f"| {r['num_boxes']} | {name} | {100 * r['forward_win']:.1f} | {100 * r['backward_win']:.1f} "
                     f"| {100 * r['direction_accuracy']:.1f} | {r['mean_margin']:+.3f} |")
    return "\n".join(lines)
