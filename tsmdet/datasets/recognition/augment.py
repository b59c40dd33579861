"""Clip augmentations of the TSM / MMAction2 recipes; one random draw per clip, same for every frame.

All steps read and write ``results['imgs']`` (a list of (H, W, 3) BGR uint8 frames, views x
T, view-major) and ``results['img_shape']``. Registered in ``mmdet.registry.TRANSFORMS``.

* :class:`VideoMultiScaleCrop`: TSM's ``GroupMultiScaleCrop`` -- crop sides from
  ``scales`` x short side (snapped to the output size within 3 px), aspect distortion at
  most ``max_distort`` steps, the crop placed at one of 5 (or 13 with ``more_fix_crop``)
  fixed positions, resized to ``input_size``.
* :class:`VideoFlip`: horizontal flip. Keep it OUT of direction-sensitive sets
  (Something-Something, Jester, the synthetic gestures): a mirrored "swipe left" is a
  "swipe right" with the wrong label.
* :class:`VideoThreeCrop`: three square crops along the long side (left/centre/right or
  top/middle/bottom); multiplies the views by 3 (10 clips x 3 crops testing).
"""
from __future__ import annotations

import random

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmdet.registry import TRANSFORMS


def _crop(imgs: list[np.ndarray], x: int, y: int, w: int, h: int) -> list[np.ndarray]:
    return [img[y:y + h, x:x + w] for img in imgs]


@TRANSFORMS.register_module()
class VideoResize(BaseTransform):
    """Resize every frame: ``scale`` int = short side (keeps the aspect ratio), (w, h) = exact size."""

    def __init__(self, scale: int | tuple[int, int], interpolation: str = "bilinear") -> None:
        self.scale = scale if isinstance(scale, int) else tuple(scale)
        self.interpolation = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA,
                              "nearest": cv2.INTER_NEAREST}[interpolation]

    def target_size(self, h: int, w: int) -> tuple[int, int]:
        """(w, h) after resizing a (h, w) frame."""
        if isinstance(self.scale, int):
            if h <= w:
                return max(1, int(round(w * self.scale / h))), self.scale
            return self.scale, max(1, int(round(h * self.scale / w)))
        return self.scale

    def transform(self, results: dict) -> dict:
        h, w = results["imgs"][0].shape[:2]
        size = self.target_size(h, w)
        if size != (w, h):
            results["imgs"] = [cv2.resize(img, size, interpolation=self.interpolation) for img in results["imgs"]]
        results["img_shape"] = (size[1], size[0])
        return results


@TRANSFORMS.register_module()
class VideoMultiScaleCrop(BaseTransform):
    """TSM's multi-scale corner/centre crop, then resize to ``input_size`` (square if an int)."""

    def __init__(self, input_size: int | tuple[int, int] = 224, scales: tuple[float, ...] = (1, 0.875, 0.75, 0.66),
                 max_distort: int = 1, fix_crop: bool = True, more_fix_crop: bool = True) -> None:
        self.input_size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)  # (w, h)
        self.scales = tuple(scales)
        self.max_distort = max_distort
        self.fix_crop = fix_crop
        self.more_fix_crop = more_fix_crop

    def crop_candidates(self, img_w: int, img_h: int) -> list[tuple[int, int]]:
        """(crop_w, crop_h) pairs the recipe may draw from."""
        base = min(img_w, img_h)
        sizes = [int(base * s) for s in self.scales]
        crop_h = [self.input_size[1] if abs(s - self.input_size[1]) < 3 else s for s in sizes]
        crop_w = [self.input_size[0] if abs(s - self.input_size[0]) < 3 else s for s in sizes]
        return [(w, h) for i, h in enumerate(crop_h) for j, w in enumerate(crop_w) if abs(i - j) <= self.max_distort]

    def fixed_offsets(self, img_w: int, img_h: int, crop_w: int, crop_h: int) -> list[tuple[int, int]]:
        """TSM's ``fill_fix_offset``: corners and centre (+ 8 more positions with ``more_fix_crop``)."""
        ws, hs = (img_w - crop_w) // 4, (img_h - crop_h) // 4
        ret = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
        if self.more_fix_crop:
            ret += [(0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),
                    (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs)]
        return ret

    def transform(self, results: dict) -> dict:
        img_h, img_w = results["imgs"][0].shape[:2]
        crop_w, crop_h = random.choice(self.crop_candidates(img_w, img_h))
        if self.fix_crop:
            x, y = random.choice(self.fixed_offsets(img_w, img_h, crop_w, crop_h))
        else:
            x, y = random.randint(0, img_w - crop_w), random.randint(0, img_h - crop_h)
        imgs = _crop(results["imgs"], x, y, crop_w, crop_h)
        results["imgs"] = [cv2.resize(img, self.input_size, interpolation=cv2.INTER_LINEAR) for img in imgs]
        results["crop_bbox"] = np.array([x, y, x + crop_w, y + crop_h])
        results["img_shape"] = (self.input_size[1], self.input_size[0])
        return results


@TRANSFORMS.register_module()
class VideoCenterCrop(BaseTransform):
    """Centre crop of ``crop_size`` (int: square; (w, h))."""

    def __init__(self, crop_size: int | tuple[int, int]) -> None:
        self.crop_size = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)

    def transform(self, results: dict) -> dict:
        img_h, img_w = results["imgs"][0].shape[:2]
        cw, ch = min(self.crop_size[0], img_w), min(self.crop_size[1], img_h)
        x, y = (img_w - cw) // 2, (img_h - ch) // 2
        results["imgs"] = _crop(results["imgs"], x, y, cw, ch)
        results["crop_bbox"] = np.array([x, y, x + cw, y + ch])
        results["img_shape"] = (ch, cw)
        return results


@TRANSFORMS.register_module()
class VideoThreeCrop(BaseTransform):
    """Three ``crop_size`` squares along the long side; views x 3, crop-major (each view's T frames contiguous)."""

    def __init__(self, crop_size: int) -> None:
        self.crop_size = crop_size

    def transform(self, results: dict) -> dict:
        img_h, img_w = results["imgs"][0].shape[:2]
        c = min(self.crop_size, img_h, img_w)
        if img_w >= img_h:
            offsets = [(0, (img_h - c) // 2), ((img_w - c) // 2, (img_h - c) // 2), (img_w - c, (img_h - c) // 2)]
        else:
            offsets = [((img_w - c) // 2, 0), ((img_w - c) // 2, (img_h - c) // 2), ((img_w - c) // 2, img_h - c)]
        imgs = results["imgs"]
        results["imgs"] = [img for x, y in offsets for img in _crop(imgs, x, y, c, c)]  # (3 * views * T)
        results["num_crops"] = 3 * results.get("num_crops", 1)
        results["img_shape"] = (c, c)
        return results


@TRANSFORMS.register_module()
class VideoFlip(BaseTransform):
    """Horizontal flip of the whole clip with probability ``prob`` (never for direction-sensitive sets)."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def transform(self, results: dict) -> dict:
        flip = random.random() < self.prob
        if flip:
            results["imgs"] = [np.ascontiguousarray(img[:, ::-1]) for img in results["imgs"]]
        results["flip"] = flip
        return results
