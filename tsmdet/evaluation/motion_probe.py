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
from typing import TYPE_CHECKING

import numpy as np

from tsmdet.evaluation.vid_metric import MOTION_BUCKETS, compute_motion_iou, motion_bucket
from tsmdet.utils.boxes import paired_iou, xywh_to_xyxy

if TYPE_CHECKING:  # annotations only: the probe runs any object with Engine's reset/infer
    from tsmdet.runtime import Detections, Engine

logger = logging.getLogger(__name__)

MATCH_IOU = 0.5


@dataclass(frozen=True)
class _Box:
    frame: int  # position in the video (0-based, forward order)
    cls: str
    xyxy: np.ndarray
    bucket: int  # FGFA motion bucket index (MOTION_BUCKETS)


def _pair_scores(dets: Detections, box: np.ndarray, pair: Sequence[str]) -> np.ndarray:
    """Best score per class of ``pair`` among detections overlapping ``box`` by >= MATCH_IOU (0 if none)."""
    out = np.zeros(len(pair))
    if len(dets) == 0:
        return out
    iou = paired_iou(dets.boxes.astype(np.float64), np.repeat(box[None], len(dets), axis=0))
    names = np.asarray(dets.class_names)
    for k, name in enumerate(pair):
        hit = (iou >= MATCH_IOU) & (names == name)
        if hit.any():
            out[k] = float(dets.scores[hit].max())
    return out


def _video_boxes(gt: dict, pair: Sequence[str]) -> tuple[dict[int, list[dict]], dict[int, list[_Box]]]:
    """Frames per video (sorted) and the pair's GT boxes per video, each with its motion bucket."""
    names = {c["id"]: c["name"] for c in gt["categories"]}
    images = {im["id"]: im for im in gt["images"]}
    frames: dict[int, list[dict]] = {}
    for im in gt["images"]:
        frames.setdefault(im["video_id"], []).append(im)
    position: dict[int, int] = {}  # image id -> index in its video's sorted frames
    for v in frames.values():
        v.sort(key=lambda im: im["frame_id"])
        position.update((im["id"], i) for i, im in enumerate(v))
    anns = [a for a in gt["annotations"] if names[a["category_id"]] in pair]
    xyxy = xywh_to_xyxy(np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4))
    video = np.array([images[a["image_id"]]["video_id"] for a in anns], dtype=np.int64)
    frame = np.array([images[a["image_id"]]["frame_id"] for a in anns], dtype=np.int64)
    instance = np.array([a.get("instance_id", a["id"]) for a in anns], dtype=np.int64)
    buckets = motion_bucket(compute_motion_iou(video, instance, frame, xyxy)) if anns else np.zeros(0, np.int64)
    boxes: dict[int, list[_Box]] = {}
    for a, b, bucket in zip(anns, xyxy, buckets.tolist()):
        boxes.setdefault(images[a["image_id"]]["video_id"], []).append(
            _Box(position[a["image_id"]], names[a["category_id"]], b, bucket))
    return frames, boxes


def probe_direction(engine: Engine, gt: dict, image_root: str | Path, pair: Sequence[str] = ("car", "bus"),
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
    frames, boxes = _video_boxes(gt, pair)
    swap = {pair[0]: pair[1], pair[1]: pair[0]}
    wins: list[list[float]] = [[], []]  # [forward, backward] per box: 1 win, 0.5 tie, 0 loss
    margins: list[list[float]] = [[], []]
    bucket_of: list[int] = []
    for vid in sorted(frames):
        video = frames[vid]
        n = len(video)
        images = [read_image(root / im["file_name"]) for im in video]  # each frame is used twice
        engine.reset()
        results = [engine.infer([images[t], images[n - 1 - t]], streams=[0, 1]) for t in range(n)]
        per_frame = [(results[t][0], results[n - 1 - t][1]) for t in range(n)]  # (forward, backward)
        for box in boxes.get(vid, []):
            for d, true_cls in enumerate((box.cls, swap[box.cls])):
                s = _pair_scores(per_frame[box.frame][d], box.xyxy, pair)
                true_score = s[list(pair).index(true_cls)]
                other_score = s[list(pair).index(swap[true_cls])]
                wins[d].append(1.0 if true_score > other_score else 0.5 if true_score == other_score else 0.0)
                margins[d].append(true_score - other_score)
            bucket_of.append(box.bucket)
        if progress is not None:
            progress(n)

    win, margin, buckets = np.array(wins).reshape(2, -1), np.array(margins).reshape(2, -1), np.array(bucket_of)

    def rates(mask: np.ndarray) -> dict:
        if not mask.any():
            return {"num_boxes": 0}
        fwd, bwd = float(win[0, mask].mean()), float(win[1, mask].mean())
        return {"num_boxes": int(mask.sum()), "forward_win": fwd, "backward_win": bwd,
                "direction_accuracy": (fwd + bwd) / 2, "mean_margin": float(margin[:, mask].mean())}

    everything = np.ones(len(buckets), dtype=bool)
    return {"pair": list(pair), **rates(everything),
            "by_motion": {s: rates(buckets == i) for i, s in enumerate(MOTION_BUCKETS)}}


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
