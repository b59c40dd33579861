"""Synthetic gesture videos whose direction pairs only motion order can tell apart.

Why it exists: Jester / Something-Something cannot be downloaded here, and the claim of TSM
(a 2D network with a temporal shift models time; without it, it cannot) needs a set on which
it can be checked in CPU minutes. A textured hand-like blob (palm, four fingers, a thumb, so
its orientation and handedness are visible) on a drifting textured background performs one
of nine gestures (:data:`GESTURE_CLASSES`): swipe left / right / up / down, rotate clockwise
/ anticlockwise, zoom in / out, and no gesture.

The fairness construction: every video is rendered from parameters ``theta`` drawn from ONE
class-independent distribution, as the *forward* motion of its kind (swipe right, swipe down,
anticlockwise rotation in image coordinates, zoom in); the other class of each pair
(:data:`DIRECTION_PAIRS`) is exactly that video with its frames in reverse order. Every
other random quantity (background texture and drift, hand texture, per-frame jitter and
sensor noise) has a distribution that reversing time leaves unchanged: the drift velocity is
symmetric about zero and the jitter and noise are i.i.d. per frame. Hence, for each pair,
any single frame and the *set* of frames of a video (any order) are identically distributed
across the two classes; only the order of the frames tells them apart. A TSN (frames
averaged, no temporal interaction) is at chance on the pairs by construction; ``no_gesture``
(hand held still) and the four motion kinds differ by how much the frames vary, which a
TSN can learn, so its overall top-1 is above chance while its pair accuracy is 50 %.

Determinism: each video draws from its own ``numpy.random.Generator`` seeded with
``(seed, split, index)``; classes are assigned round-robin, so every split is balanced.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .annotations import write_annotation_list

logger = logging.getLogger(__name__)

GESTURE_CLASSES: tuple[str, ...] = (
    "swipe_left", "swipe_right", "swipe_up", "swipe_down",
    "rotate_clockwise", "rotate_anticlockwise", "zoom_in", "zoom_out", "no_gesture",
)
# (time-reversed class, forward class): the second is rendered, the first is its reversal.
DIRECTION_PAIRS: tuple[tuple[str, str], ...] = (
    ("swipe_left", "swipe_right"), ("swipe_up", "swipe_down"),
    ("rotate_clockwise", "rotate_anticlockwise"), ("zoom_out", "zoom_in"),
)
# class -> (motion kind, reversed?)
_MOTION: dict[str, tuple[str, bool]] = {
    "swipe_right": ("swipe_x", False), "swipe_left": ("swipe_x", True),
    "swipe_down": ("swipe_y", False), "swipe_up": ("swipe_y", True),
    "rotate_anticlockwise": ("rotate", False), "rotate_clockwise": ("rotate", True),
    "zoom_in": ("zoom", False), "zoom_out": ("zoom", True),
    "no_gesture": ("none", False),
}
GENERATOR_VERSION = 3  # 3: a contrasting index fingertip (v2 rotated about the wrist: harder to learn)
VERSION_FILE = "SYNTHETIC_ACTIONS_VERSION"
FILENAME_TMPL = "img_{:05d}.jpg"
JPEG_QUALITY = 90
MP4_FPS = 12
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}
_SPRITE = 64  # side of the hand sprite canvas, pixels
_PIVOT = (32.0, 32.0)  # sprite point placed at ``centre``; rotations and zooms are about it

# Motion amplitudes over the whole video (class-independent draws).
_SWIPE_RANGE = (0.35, 0.6)      # displacement, fraction of the frame side
_ROTATE_RANGE = (100.0, 160.0)  # degrees
_ZOOM_RANGE = (0.5, 0.8)        # change of log scale
_HAND_SIZE = (0.6, 0.8)        # hand sprite side as a fraction of the frame side
_DRIFT_SIGMA = 0.25             # background drift, px per frame (symmetric about 0)
_JITTER_SIGMA = 0.4             # per-frame i.i.d. hand jitter, px
_NOISE_SIGMA = 3.0              # sensor noise, grey levels


@dataclass(frozen=True)
class GestureSetInfo:
    """What :func:`generate_synthetic_actions` wrote."""

    root: Path
    counts: dict[str, int]
    classes: tuple[str, ...] = GESTURE_CLASSES


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random field in [0, 1], (h, w)."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Textured background larger than the frame (room to drift), (h, w, 3) float32 BGR."""
    base = rng.uniform(40, 200, size=3).astype(np.float32)
    tint = rng.uniform(-60, 60, size=3).astype(np.float32)
    field = _smooth_noise(rng, h, w, int(rng.integers(3, 7)))[..., None]
    fine = _smooth_noise(rng, h, w, int(rng.integers(10, 20)))[..., None]
    return (base + tint * (field - 0.5) * 2 + 30 * (fine - 0.5)).clip(0, 255)


def _hand_sprite(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A hand-like blob: (P, P, 3) float32 BGR texture and (P, P) float32 alpha."""
    p = _SPRITE
    mask = np.zeros((p, p), dtype=np.uint8)
    cv2.ellipse(mask, (32, 40), (13, 15), 0, 0, 360, 255, -1)  # palm
    for k, (dx, length) in enumerate(((-9, 13), (-3, 16), (3, 15), (9, 12))):  # fingers
        cx, top = 32 + dx, 24 - length
        cv2.ellipse(mask, (cx, 24 - length // 2), (3, length // 2 + 2), 4 * (k - 1.5), 0, 360, 255, -1)
        cv2.circle(mask, (cx, top + 1), 3, 255, -1)
    cv2.ellipse(mask, (17, 38), (4, 10), -35, 0, 360, 255, -1)  # thumb (left side: handedness)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (3, 3), 0)
    skin = rng.uniform([60, 90, 140], [150, 180, 240]).astype(np.float32)
    stripes = np.sin(np.arange(p, dtype=np.float32)[:, None] * rng.uniform(0.5, 1.2)
                     + np.arange(p, dtype=np.float32)[None] * rng.uniform(-0.4, 0.4))
    texture = skin + 25 * stripes[..., None] + 30 * (_smooth_noise(rng, p, p, 6)[..., None] - 0.5)
    tip = np.zeros((p, p), dtype=np.uint8)
    cv2.circle(tip, (29, 10), 5, 255, -1)  # the index fingertip in a contrasting colour: shows the turn
    texture = np.where(tip[..., None] > 0, 255.0 - skin, texture)
    return texture.clip(0, 255).astype(np.float32), alpha


def render_forward_clip(kind: str, rng: np.random.Generator, size: int, num_frames: int) -> list[np.ndarray]:
    """Frames (BGR uint8, (size, size, 3)) of one *forward* gesture of ``kind`` with fresh parameters.

    ``kind``: ``'swipe_x'`` (rightwards), ``'swipe_y'`` (downwards), ``'rotate'``
    (anticlockwise on screen), ``'zoom'`` (growing) or ``'none'``. The motion is centred on
    the middle frame, ``state(t) = state0 + amplitude * (t / (F - 1) - 1/2)``.
    """
    margin = 8
    bg = _background(rng, size + 2 * margin, size + 2 * margin)
    drift = rng.normal(0.0, _DRIFT_SIGMA, size=2)
    texture, alpha = _hand_sprite(rng)
    hand_side = rng.uniform(*_HAND_SIZE) * size
    centre = rng.uniform(0.38, 0.62, size=2) * size
    angle0 = rng.uniform(0, 360)
    log_scale0 = rng.uniform(-0.1, 0.1)
    amp = {"swipe_x": rng.uniform(*_SWIPE_RANGE) * size, "swipe_y": rng.uniform(*_SWIPE_RANGE) * size,
           "rotate": rng.uniform(*_ROTATE_RANGE), "zoom": rng.uniform(*_ZOOM_RANGE), "none": 0.0}[kind]
    frames = []
    for t in range(num_frames):
        u = t / max(num_frames - 1, 1) - 0.5  # in [-1/2, 1/2], antisymmetric under t -> F-1-t
        cx, cy = centre + rng.normal(0.0, _JITTER_SIGMA, size=2)
        angle, log_scale = angle0, log_scale0
        if kind == "swipe_x":
            cx += amp * u
        elif kind == "swipe_y":
            cy += amp * u
        elif kind == "rotate":
            angle += amp * u  # cv2: positive angle = anticlockwise on screen
        elif kind == "zoom":
            log_scale += amp * u
        scale = hand_side / _SPRITE * math.exp(log_scale)
        m = cv2.getRotationMatrix2D(_PIVOT, angle, scale)
        m[:, 2] += (cx - _PIVOT[0], cy - _PIVOT[1])
        hand = cv2.warpAffine(texture, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
        a = cv2.warpAffine(alpha, m, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
        shift = np.array([[1, 0, -margin + drift[0] * u * (num_frames - 1)],
                          [0, 1, -margin + drift[1] * u * (num_frames - 1)]], dtype=np.float64)
        back = cv2.warpAffine(bg, shift, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img = back * (1 - a) + hand * a + rng.normal(0.0, _NOISE_SIGMA, size=back.shape)
        frames.append(img.clip(0, 255).astype(np.uint8))
    return frames


def render_gesture(class_name: str, rng: np.random.Generator, size: int = 64, num_frames: int = 20) -> list[np.ndarray]:
    """Frames of one video of ``class_name``: the forward clip of its kind, reversed for the partner class."""
    kind, reverse = _MOTION[class_name]
    frames = render_forward_clip(kind, rng, size, num_frames)
    return frames[::-1] if reverse else frames


def video_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT_IDS[split], index])


def generate_synthetic_actions(out: str | Path, train_videos: int = 1800, val_videos: int = 180,
                               frames: tuple[int, int] = (16, 24), size: int = 64, mp4: bool = True,
                               seed: int = 0, overwrite: bool = False) -> GestureSetInfo:
    """Write the set under ``out``; see docs/recognition.md for the layout.

    ``out/frames/<split>/<id>/img_00001.jpg``, ``out/videos/<split>/<id>.mp4`` (``mp4``),
    ``out/<split>_list_tsm.txt`` and ``_rawframes.txt`` (``<split>/<id> <num_frames> <label>``,
    paths relative to ``frames/``), ``out/<split>_list_videos.txt`` (``<split>/<id>.mp4 <label>``,
    relative to ``videos/``), ``out/classes.txt`` and a version marker.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty (pass overwrite=True / --overwrite to replace it)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "classes.txt").write_text("".join(c + "\n" for c in GESTURE_CLASSES))
    counts = {}
    for split, n in (("train", train_videos), ("val", val_videos)):
        frame_rows, video_rows = [], []
        for i in range(n):
            label = i % len(GESTURE_CLASSES)
            rng = video_rng(seed, split, i)
            num_frames = int(rng.integers(frames[0], frames[1] + 1))
            clip = render_gesture(GESTURE_CLASSES[label], rng, size, num_frames)
            name = f"{split}/{i:05d}"
            folder = out / "frames" / name
            folder.mkdir(parents=True, exist_ok=True)
            for t, img in enumerate(clip, start=1):
                cv2.imwrite(str(folder / FILENAME_TMPL.format(t)), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            frame_rows.append((name, num_frames, label))
            if mp4:
                _write_mp4(out / "videos" / f"{name}.mp4", clip)
                video_rows.append((f"{name}.mp4", None, label))
        write_annotation_list(out / f"{split}_list_tsm.txt", frame_rows)
        write_annotation_list(out / f"{split}_list_rawframes.txt", frame_rows)
        if mp4:
            write_annotation_list(out / f"{split}_list_videos.txt", video_rows)
        counts[split] = n
    (out / VERSION_FILE).write_text(json.dumps({"version": GENERATOR_VERSION, "seed": seed, "size": size,
                                                "frames": list(frames), **counts}) + "\n")
    logger.info("wrote %s: %s", out, counts)
    return GestureSetInfo(out, counts)


def _write_mp4(path: Path, frames: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), MP4_FPS, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4 files here ({path}); pass mp4=False / --no-mp4")
    try:
        for img in frames:
            writer.write(img)
    finally:
        writer.release()
