"""Rendering a synthetic scene: background, occluder, textured and blurred objects, boxes.

:func:`render_synthetic_video` yields ``(BGR image, boxes)`` per frame. The visibility rules
(a box is dropped when too little is visible, ``occluded`` when much is covered) are
applied here, on the masks of what was actually drawn.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..vid_classes import NAME_TO_WNID
from ..vid_xml import VIDObject
from .scene import Instance, Texture, sample_instances, video_rng

MIN_VISIBLE_FRACTION = 0.3   # drop a box when less of the object is visible
OCCLUDED_FRACTION = 0.3      # occluded=1 when more of the in-image object is covered
MIN_BOX_SIDE = 4.0           # pixels; smaller clipped boxes are dropped
MIN_BLUR_LENGTH = 2.0        # pixels; shorter smears are invisible, skip the filter
_MAX_DRIFT = 0.3             # background drift, pixels per frame per axis
_NOISE_SIGMA = 2.0           # sensor noise, grey levels
_OCCLUDER_PROBABILITY = 0.5


@dataclass
class Background:
    canvas: np.ndarray        # (H + 2m, W + 2m, 3) float32
    margin: int
    drift: np.ndarray         # (2,) pixels per frame


@dataclass
class Occluder:
    """A static bar showing a darkened patch of the background (a pole or a beam)."""

    coverage: np.ndarray      # (H, W) float32 in [0, 1]
    pixels: np.ndarray        # (H, W, 3) float32


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Colour noise in [0, 1] with about ``cells`` features along the short side."""
    scale = cells / min(height, width)
    small = rng.random((max(2, round(height * scale)), max(2, round(width * scale)), 3), dtype=np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def _make_background(rng: np.random.Generator, width: int, height: int, frames: int) -> Background:
    """A textured canvas, larger than a frame by the drift margin: colour, gradient, noise, blobs."""
    margin = int(np.ceil(_MAX_DRIFT * frames / 2)) + 2
    ch, cw = height + 2 * margin, width + 2 * margin
    canvas = np.empty((ch, cw, 3), np.float32)
    canvas[:] = rng.uniform(50, 200, size=3)
    ramp_y, ramp_x = np.mgrid[0:ch, 0:cw].astype(np.float32)
    gradient = rng.uniform(-50, 50, size=(2, 3)).astype(np.float32)
    canvas += (ramp_x[..., None] / cw - 0.5) * gradient[0] + (ramp_y[..., None] / ch - 0.5) * gradient[1]
    for cells, amplitude in ((3, 60.0), (8, 40.0), (20, 30.0), (48, 18.0)):
        canvas += amplitude * (_smooth_noise(rng, ch, cw, cells) - 0.5)
    blobs = canvas.copy()
    for _ in range(int(rng.integers(3, 8))):
        centre = (int(rng.integers(0, cw)), int(rng.integers(0, ch)))
        radius = int(rng.integers(3, max(4, min(ch, cw) // 5)))
        cv2.circle(blobs, centre, radius, rng.uniform(0, 255, size=3).tolist(), -1, cv2.LINE_AA)
    canvas = cv2.GaussianBlur(0.5 * canvas + 0.5 * blobs, (0, 0), 0.7)
    return Background(canvas=canvas, margin=margin, drift=rng.uniform(-_MAX_DRIFT, _MAX_DRIFT, size=2))


def _background_frame(bg: Background, t: int, mid_t: float, width: int, height: int) -> np.ndarray:
    """The frame-sized window of the canvas at time t (sub-pixel drift, bilinear)."""
    centre = bg.margin + np.array([width, height]) / 2 + bg.drift * (t - mid_t)
    return cv2.getRectSubPix(bg.canvas, (width, height), (float(centre[0]), float(centre[1])))


def _make_occluder(rng: np.random.Generator, bg: Background, width: int, height: int) -> Occluder:
    """A vertical or horizontal bar with anti-aliased edges, textured by an unrelated background patch."""
    vertical = bool(rng.random() < 0.5)
    length = width if vertical else height
    thickness = rng.uniform(0.08, 0.18) * length
    position = rng.uniform(0.15, 0.85) * length
    pixel_centres = np.arange(length, dtype=np.float32) + 0.5
    profile = np.clip(thickness / 2 - np.abs(pixel_centres - position) + 0.5, 0.0, 1.0)
    coverage = np.broadcast_to(profile[None, :] if vertical else profile[:, None], (height, width))
    offset = rng.uniform(0, 2 * bg.margin, size=2)
    patch = cv2.getRectSubPix(bg.canvas[::-1, ::-1].copy(), (width, height),
                              (float(offset[0] + width / 2), float(offset[1] + height / 2)))
    return Occluder(coverage=np.ascontiguousarray(coverage), pixels=np.float32(0.7) * patch)


def _texture_pixels(tex: Texture, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """BGR texture at object coordinates (u, v) relative to the centre; (h, w) -> (h, w, 3)."""
    cos, sin = np.cos(tex.angle), np.sin(tex.angle)
    a, b = u * cos + v * sin, -u * sin + v * cos
    if tex.kind == "checker":
        level = (np.sin(np.pi * a / tex.period + tex.phases[0])
                 * np.sin(np.pi * b / tex.period + tex.phases[1]))
    elif tex.kind == "stripes":
        wobble = 0.25 * tex.period * np.sin(2 * np.pi * b / (3 * tex.period) + tex.phases[1])
        level = np.sin(2 * np.pi * (a + wobble) / tex.period + tex.phases[0])
    else:
        level = sum(np.sin(2 * np.pi * (fx * u + fy * v) + phase) for fx, fy, phase in tex.waves)
        level = level - tex.threshold
    weight = np.clip(level * 3.0 + 0.5, 0.0, 1.0)[..., None]   # sharp but anti-aliased edges
    return tex.color_a * (1 - weight) + tex.color_b * weight


def _shape_alpha(inst: Instance, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Superellipse coverage with a one-pixel soft edge; >= 0.5 exactly inside the box-tight shape."""
    p = inst.exponent
    rho = (np.abs(2 * u / inst.width) ** p + np.abs(2 * v / inst.height) ** p) ** (1 / p)
    return np.clip((1 - rho) * min(inst.width, inst.height) / 2 + 0.5, 0.0, 1.0)


def _line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised, centred line of the given length: a symmetric motion-blur kernel."""
    half = int(np.ceil(length / 2))
    kernel = np.zeros((2 * half + 1, 2 * half + 1), np.float32)
    for s in np.linspace(-length / 2, length / 2, 4 * half + 1):
        x, y = half + s * np.cos(angle), half + s * np.sin(angle)
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if 0 <= x0 + dx <= 2 * half and 0 <= y0 + dy <= 2 * half:
                kernel[y0 + dy, x0 + dx] += w
    return kernel / kernel.sum()


def _draw_instance(frame: np.ndarray, inst: Instance, centre: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Composite one instance into ``frame`` in place (blurred when fast).

    Returns the in-image part of its unblurred shape as a full-frame mask and the
    pixel area of the whole shape (inside and outside the image), or None when the
    instance does not touch the image.
    """
    height, width = frame.shape[:2]
    pad = int(np.ceil(inst.blur_length / 2)) + 2
    x0, x1 = int(np.floor(centre[0] - inst.width / 2)) - pad, int(np.ceil(centre[0] + inst.width / 2)) + pad
    y0, y1 = int(np.floor(centre[1] - inst.height / 2)) - pad, int(np.ceil(centre[1] + inst.height / 2)) + pad
    fx0, fx1, fy0, fy1 = max(x0, 0), min(x1, width), max(y0, 0), min(y1, height)
    if fx0 >= fx1 or fy0 >= fy1:
        return None
    u, v = np.meshgrid(np.arange(x0, x1, dtype=np.float32) + 0.5 - centre[0],
                       np.arange(y0, y1, dtype=np.float32) + 0.5 - centre[1])
    alpha = _shape_alpha(inst, u, v).astype(np.float32)                 # (h, w)
    colour = (_texture_pixels(inst.texture, u, v) * alpha[..., None]).astype(np.float32)  # premultiplied
    shape = alpha >= 0.5
    if inst.blur_length >= MIN_BLUR_LENGTH:
        kernel = _line_kernel(inst.blur_length, float(np.arctan2(inst.velocity[1], inst.velocity[0])))
        alpha = cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        colour = cv2.filter2D(colour, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    crop = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
    region = frame[fy0:fy1, fx0:fx1]
    region[:] = region * (1 - alpha[crop][..., None]) + colour[crop]
    mask = np.zeros((height, width), bool)
    mask[fy0:fy1, fx0:fx1] = shape[crop]
    return mask, int(shape.sum())


def _clipped_box(inst: Instance, centre: np.ndarray, width: int, height: int) -> tuple[float, ...] | None:
    """The object's box clipped to the image (pixel coordinates), or None if a side is too short."""
    x0 = max(0.0, float(centre[0]) - inst.width / 2)
    x1 = min(width - 1.0, float(centre[0]) + inst.width / 2)
    y0 = max(0.0, float(centre[1]) - inst.height / 2)
    y1 = min(height - 1.0, float(centre[1]) + inst.height / 2)
    if x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE:
        return None
    return x0, y0, x1, y1


def _annotate(drawn: list[tuple[Instance, np.ndarray, int, np.ndarray]], occluder_mask: np.ndarray,
              width: int, height: int) -> list[VIDObject]:
    """Boxes of the drawn instances (in depth order), with the visibility rules of the module docstring."""
    objects = []
    for i, (inst, mask, area, centre) in enumerate(drawn):
        cover = occluder_mask.copy()
        for _, later_mask, _, _ in drawn[i + 1:]:
            cover |= later_mask
        in_image = int(mask.sum())
        covered = int((mask & cover).sum())
        box = _clipped_box(inst, centre, width, height)
        if box is None or in_image == 0 or (in_image - covered) / area < MIN_VISIBLE_FRACTION:
            continue
        objects.append(VIDObject(
            wnid=NAME_TO_WNID[inst.class_name], xmin=box[0], ymin=box[1], xmax=box[2], ymax=box[3],
            trackid=inst.trackid, occluded=int(covered / in_image > OCCLUDED_FRACTION),
        ))
    return sorted(objects, key=lambda o: o.trackid)


def render_synthetic_video(seed: int, split: str, index: int, frames: int,
                           size: tuple[int, int]) -> Iterator[tuple[np.ndarray, list[VIDObject]]]:
    """Yield ``(BGR uint8 image (H, W, 3), boxes)`` for each frame of one synthetic video.

    Fully determined by ``(seed, split, index, frames, size)``; ``split`` is
    "train", "val" or "mp4" and only selects an independent random stream.
    """
    width, height = size
    rng = video_rng(seed, split, index)
    mid_t = (frames - 1) / 2
    background = _make_background(rng, width, height, frames)
    occluder = (_make_occluder(rng, background, width, height)
                if rng.random() < _OCCLUDER_PROBABILITY else None)
    instances = sorted(sample_instances(rng, width, height), key=lambda inst: inst.depth)
    for t in range(frames):
        frame = _background_frame(background, t, mid_t, width, height)
        drawn = []
        for inst in instances:
            centre = inst.centre(t, mid_t)
            result = _draw_instance(frame, inst, centre)
            if result is not None:
                drawn.append((inst, *result, centre))
        occluder_mask = np.zeros((height, width), bool)
        if occluder is not None:
            cover = occluder.coverage[..., None]
            frame = frame * (1 - cover) + occluder.pixels * cover
            occluder_mask = occluder.coverage >= 0.5
        frame = frame + _NOISE_SIGMA * rng.standard_normal(frame.shape, dtype=np.float32)
        image = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        yield image, _annotate(drawn, occluder_mask, width, height)
