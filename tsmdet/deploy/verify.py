"""Check an exported ONNX model against the torch deploy module it came from.

Both run the same frame sequence with their states fed back, as a stream does,
so a state the export got wrong shows up within a few frames. Detections are
matched by label and IoU rather than compared row by row: NMS may break ties
between (almost) equal scores differently on the two backends, which reorders
rows without changing the model.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..runtime.meta import ModelMeta
from ..utils.boxes import box_iou

logger = logging.getLogger(__name__)


class ExportVerificationError(RuntimeError):
    """onnxruntime and the torch deploy module disagree beyond float error."""


@dataclass(frozen=True)
class DetectionMatch:
    """How well detections ``b`` reproduce detections ``a`` (one frame or a whole run)."""

    num_a: int
    num_b: int
    matched: int
    max_box_diff: float  # max abs coordinate difference over matched pairs (pixels)
    max_score_diff: float  # max abs score difference over matched pairs

    @property
    def unmatched(self) -> int:
        return max(self.num_a, self.num_b) - self.matched

    def __add__(self, other: "DetectionMatch") -> "DetectionMatch":
        return DetectionMatch(self.num_a + other.num_a, self.num_b + other.num_b,
                              self.matched + other.matched,
                              max(self.max_box_diff, other.max_box_diff),
                              max(self.max_score_diff, other.max_score_diff))


def pair_detections(
    a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray],
    iou_thr: float = 0.99, box_atol: float = 0.05,
) -> DetectionMatch:
    """Pair two runs' detections one to one (greedy, by score of ``a``): how well ``b`` reproduces ``a``.

    For comparing two engines on the same frames (torch vs onnxruntime), not for scoring
    against ground truth (that is :func:`tsmdet.evaluation.vid_metric.match_to_gt`).

    A pair matches with the same label and IoU > ``iou_thr``, or every coordinate within
    ``box_atol`` pixels: a box one or two pixels thin changes its IoU by percents for
    a hundredth of a pixel of float error.
    """
    boxes_a, scores_a, labels_a = a
    boxes_b, scores_b, labels_b = b
    iou = box_iou(boxes_a, boxes_b)  # (n, m)
    close = np.abs(boxes_a[:, None, :] - boxes_b[None, :, :]).max(-1, initial=0.0) <= box_atol  # (n, m)
    iou[close] = 1.0
    iou[labels_a[:, None] != labels_b[None, :]] = 0.0
    taken = np.zeros(len(boxes_b), dtype=bool)
    box_diff = score_diff = 0.0
    matched = 0
    for i in np.argsort(-scores_a, kind="stable"):
        candidates = np.where(~taken & (iou[i] > iou_thr))[0]  # close boxes count as IoU 1
        if len(candidates) == 0:
            continue
        j = candidates[np.argmax(iou[i, candidates])]
        taken[j] = True
        matched += 1
        box_diff = max(box_diff, float(np.abs(boxes_a[i] - boxes_b[j]).max()))
        score_diff = max(score_diff, float(abs(scores_a[i] - scores_b[j])))
    return DetectionMatch(len(boxes_a), len(boxes_b), matched, box_diff, score_diff)


def valid_rows(outputs: Sequence[np.ndarray], index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``num_dets`` rows of image ``index`` of the outputs ``(boxes, scores, labels, num_dets)``."""
    boxes, scores, labels, num_dets = outputs[:4]
    n = int(num_dets[index])
    return boxes[index, :n], scores[index, :n], labels[index, :n]


def random_frames(num_frames: int, batch: int, size: tuple[int, int], seed: int = 0) -> list[torch.Tensor]:
    """Smooth random RGB frames ``(batch, 3, h, w)`` in 0..255 (upsampled noise: closer to images)."""
    w, h = size
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(num_frames, batch, 3, max(2, h // 8), max(2, w // 8), generator=g) * 255.0
    return [F.interpolate(f, size=(h, w), mode="bilinear", align_corners=False) for f in low]


@dataclass(frozen=True)
class VerifyReport:
    """Torch deploy module vs onnxruntime over one frame sequence."""

    frames: int
    max_state_diff: float
    detections: DetectionMatch


def verify_onnx(
    module: nn.Module, onnx_path: str | Path, meta: ModelMeta, num_frames: int = 8, batch: int = 1,
    seed: int = 0, state_atol: float = 1e-3, score_atol: float = 1e-3, unmatched_frac: float = 0.01,
    iou_thr: float = 0.99, box_atol: float = 0.05,
) -> VerifyReport:
    """Run ``num_frames`` random frames through both, states fed back; raise if they disagree.

    Fails on a state difference above ``state_atol`` (relative to the state magnitude,
    at least 1), a matched score difference above ``score_atol``, or more than
    ``unmatched_frac`` of the detections without a counterpart (same label, IoU > ``iou_thr``).
    A few unmatched ones are float error, not a broken export: two candidates whose
    scores differ by less than it can swap at the K-th row or at an NMS decision.
    """
    import onnxruntime as ort  # local: only the exporter needs it here

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    device = next(module.parameters()).device
    n_out = len(meta.output_names)
    fetch = [*meta.output_names, *(s.output for s in meta.states)]
    states_t = [torch.zeros(batch, *s.shape[1:], device=device) for s in meta.states]
    states_o = [np.zeros((batch, *s.shape[1:]), dtype=np.float32) for s in meta.states]
    max_state_diff = 0.0
    match = DetectionMatch(0, 0, 0, 0.0, 0.0)
    module.eval()
    for frame in random_frames(num_frames, batch, meta.input_size, seed):
        with torch.no_grad():
            torch_out = [t.cpu().numpy() for t in module(frame.to(device), *states_t)]
        feeds = {meta.input_name: frame.numpy(), **{s.name: x for s, x in zip(meta.states, states_o)}}
        onnx_out = session.run(fetch, feeds)
        for ref, got in zip(torch_out[n_out:], onnx_out[n_out:]):
            scale = max(1.0, float(np.abs(ref).max()))
            max_state_diff = max(max_state_diff, float(np.abs(ref - got).max()) / scale)
        for i in range(batch):
            match = match + pair_detections(valid_rows(torch_out, i), valid_rows(onnx_out, i), iou_thr, box_atol)
        states_t = [torch.from_numpy(s).to(device) for s in torch_out[n_out:]]
        states_o = onnx_out[n_out:]
    report = VerifyReport(num_frames, max_state_diff, match)
    logger.info(
        "onnxruntime vs torch over %d frames x %d streams: state max diff %.3g (relative), %d/%d detections "
        "matched, box max diff %.3g px, score max diff %.3g",
        num_frames, batch, max_state_diff, match.matched, max(match.num_a, match.num_b),
        match.max_box_diff, match.max_score_diff,
    )
    allowed_unmatched = unmatched_frac * max(match.num_a, match.num_b)
    if (max_state_diff > state_atol or match.max_score_diff > score_atol
            or match.unmatched > allowed_unmatched):
        raise ExportVerificationError(
            f"{onnx_path}: onnxruntime disagrees with the torch deploy module: {report}. "
            "Re-export with --no-verify to keep the file for inspection."
        )
    return report
