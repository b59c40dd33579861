"""Letterbox a camera frame into the network input, and map boxes back.

Every engine and the INT8 calibrator use these two functions, so the pixels a
model sees in deployment are exactly the pixels it was calibrated on. Mean/std
normalisation is NOT done here: it lives inside the exported graph (see
``tsmdet.runtime.meta``), which keeps the host side a resize and a copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LetterboxInfo:
    """How one frame was placed in the network input: ``input = frame * scale + pad``."""

    scale: float
    pad_x: int
    pad_y: int
    orig_w: int
    orig_h: int


def letterbox(
    frame_bgr: np.ndarray,
    size: tuple[int, int],
    pad_value: float = 114.0,
    channel_order: str = "RGB",
) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize keeping the aspect ratio and centre the result on a ``pad_value`` canvas.

    Args:
        frame_bgr: (H, W, 3) uint8 frame as OpenCV decodes it.
        size: (width, height) of the network input.
        pad_value: value of the padding pixels (same in all channels).
        channel_order: "RGB" or "BGR", the order the graph expects.

    Returns:
        A float32 (3, h, w) tensor with values 0..255 and the placement info.
    """
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) frame, got shape {frame_bgr.shape}")
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
    out_w, out_h = size
    orig_h, orig_w = frame_bgr.shape[:2]
    scale = min(out_w / orig_w, out_h / orig_h)
    new_w = min(out_w, max(1, round(orig_w * scale)))
    new_h = min(out_h, max(1, round(orig_h * scale)))
    pad_x = (out_w - new_w) // 2
    pad_y = (out_h - new_h) // 2

    if (new_w, new_h) != (orig_w, orig_h):
        frame_bgr = cv2.resize(frame_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if channel_order == "RGB":
        frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)

    canvas = np.full((out_h, out_w, 3), pad_value, dtype=np.float32)  # (h, w, 3)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = frame_bgr
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1))  # (3, h, w)
    return tensor, LetterboxInfo(scale=scale, pad_x=pad_x, pad_y=pad_y, orig_w=orig_w, orig_h=orig_h)


def unletterbox_boxes(boxes: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """Map (n, 4) xyxy boxes from network-input pixels to original-frame pixels, clipped to the frame."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    out = np.empty_like(boxes)
    out[:, 0::2] = (boxes[:, 0::2] - info.pad_x) / info.scale
    out[:, 1::2] = (boxes[:, 1::2] - info.pad_y) / info.scale
    np.clip(out[:, 0::2], 0.0, float(info.orig_w), out=out[:, 0::2])
    np.clip(out[:, 1::2], 0.0, float(info.orig_h), out=out[:, 1::2])
    return out
