"""The synthetic scene model: which objects a video holds, how they look and how they move.

Pure sampling, no pixels: every random quantity of a video is drawn here from the video's
own generator (:func:`video_rng`), in a fixed order, so a video is fully determined by
``(seed, split, index)``. :mod:`.render` turns a scene into frames and boxes. The classes,
the motion pair and why its time-reversal symmetry makes a fair test are described in
:mod:`tsmdet.datasets.synthetic`.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SYNTHETIC_CLASSES: tuple[str, ...] = ("car", "bus", "zebra", "giant_panda")
MOTION_PAIR: tuple[str, str] = ("car", "bus")
# Sign of the horizontal velocity of each motion-pair class.
MOTION_SIGN: dict[str, int] = {"car": +1, "bus": -1}
TEXTURE_OF_CLASS: dict[str, str] = {
    "car": "checker", "bus": "checker", "zebra": "stripes", "giant_panda": "blotches",
}

SPLIT_IDS: dict[str, int] = {"train": 0, "val": 1, "mp4": 2}
_SIZE_RANGE = (0.15, 0.6)    # sqrt(w*h) as a fraction of the short image side
_ASPECT_LOG_RANGE = 0.4      # log(w/h) uniform in +-this
# (low, high) of speed / sqrt(w*h) per frame; one band is drawn per instance with
# equal probability. Tuned so the FGFA motion-IoU buckets come out roughly balanced.
_SPEED_BANDS: tuple[tuple[float, float], ...] = ((0.0, 0.007), (0.012, 0.028), (0.045, 0.11))
_PAIR_MAX_TILT = 0.35        # radians off horizontal for the motion pair
# Motion pair speed, (low, high) as a fraction of the short image side per frame: 1.8-6 px
# at 160x120, i.e. about 0.5-1.5 cells of the stride-4 feature map where the first shift
# sits. Size-relative bands left two thirds of the pair at or under a pixel per frame
# (docs/synthetic_data.md, docs/experiments.md).
_PAIR_SPEED_RANGE = (0.015, 0.05)
EXPOSURE = 0.8               # blur length = speed * exposure (fraction of a frame)


@dataclass
class Texture:
    """Parameters of one instance's texture, evaluated analytically in object coordinates."""

    kind: str                 # "checker" | "stripes" | "blotches"
    color_a: np.ndarray       # (3,) BGR
    color_b: np.ndarray       # (3,) BGR
    period: float             # pixels
    angle: float              # radians
    phases: np.ndarray        # (2,) radians
    waves: np.ndarray         # (K, 3) blotches: frequency x, frequency y (cycles/px), phase
    threshold: float          # blotches: level above which the texture is color_b


@dataclass
class Instance:
    """One object of one video: fixed appearance, straight-line motion around the middle frame."""

    class_name: str
    trackid: int
    width: float
    height: float
    exponent: float           # superellipse exponent: 2 = ellipse, large = rounded box
    mid: np.ndarray           # (2,) centre at the middle frame
    velocity: np.ndarray      # (2,) pixels per frame
    depth: float              # drawing order: larger is nearer (drawn later)
    texture: Texture

    def centre(self, t: int, mid_t: float) -> np.ndarray:
        return self.mid + self.velocity * (t - mid_t)

    @property
    def blur_length(self) -> float:
        return float(np.hypot(*self.velocity)) * EXPOSURE


def video_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one video; independent of every other video and of the worker count."""
    return np.random.default_rng([seed, SPLIT_IDS[split], index])


def _random_bright_color(rng: np.random.Generator) -> np.ndarray:
    """A saturated BGR colour with uniformly random hue."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(130, 255), rng.uniform(110, 255)]]], np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _tinted(rng: np.random.Generator, level: float, spread: float) -> np.ndarray:
    """A near-grey BGR colour: per-instance colour variation of the black-and-white classes."""
    return np.clip(level + rng.uniform(-spread, spread, size=3), 0, 255).astype(np.float32)


def _sample_texture(rng: np.random.Generator, class_name: str, size: float) -> Texture:
    """Texture of one instance; depends on the class only through its texture kind."""
    kind = TEXTURE_OF_CLASS[class_name]
    period = max(3.0, size * rng.uniform(0.15, 0.3))
    angle = rng.uniform(0, np.pi)
    phases = rng.uniform(0, 2 * np.pi, size=2)
    waves = np.zeros((0, 3))
    threshold = 0.0
    if kind == "checker":
        color_a, color_b = _random_bright_color(rng), _random_bright_color(rng)
    elif kind == "stripes":
        color_a, color_b = _tinted(rng, 230, 20), _tinted(rng, 35, 20)
    else:  # blotches: a few random plane waves, thresholded, look like irregular patches
        color_a, color_b = _tinted(rng, 225, 25), _tinted(rng, 30, 20)
        directions = rng.uniform(0, 2 * np.pi, size=4)
        frequency = 1.0 / (size * rng.uniform(0.35, 0.6, size=4))
        waves = np.stack([frequency * np.cos(directions), frequency * np.sin(directions),
                          rng.uniform(0, 2 * np.pi, size=4)], axis=1)
        threshold = rng.uniform(0.3, 0.8)
    return Texture(kind, color_a, color_b, period, angle, phases, waves, threshold)


def _sample_velocity(rng: np.random.Generator, class_name: str, size: float, short_side: int) -> np.ndarray:
    """Speed and direction per class (see the module docstring).

    The motion pair's speed is drawn in pixels (relative to the frame), the other
    classes' relative to their size in one of three bands.
    """
    if class_name in MOTION_SIGN:
        speed = rng.uniform(*_PAIR_SPEED_RANGE) * short_side
        tilt = rng.uniform(-_PAIR_MAX_TILT, _PAIR_MAX_TILT)
        return speed * np.array([MOTION_SIGN[class_name] * np.cos(tilt), np.sin(tilt)])
    low, high = _SPEED_BANDS[int(rng.integers(len(_SPEED_BANDS)))]
    speed = rng.uniform(low, high) * size
    direction = rng.uniform(0, 2 * np.pi)
    return speed * np.array([np.cos(direction), np.sin(direction)])


def sample_instances(rng: np.random.Generator, width: int, height: int) -> list[Instance]:
    """1-3 instances with class-independent size, position, depth and speed distributions."""
    short = min(width, height)
    instances = []
    for trackid in range(int(rng.integers(1, 4))):
        class_name = SYNTHETIC_CLASSES[int(rng.integers(len(SYNTHETIC_CLASSES)))]
        size = short * np.exp(rng.uniform(np.log(_SIZE_RANGE[0]), np.log(_SIZE_RANGE[1])))
        aspect = np.exp(rng.uniform(-_ASPECT_LOG_RANGE, _ASPECT_LOG_RANGE))
        obj_w, obj_h = min(size * np.sqrt(aspect), 0.9 * width), min(size / np.sqrt(aspect), 0.9 * height)
        instances.append(Instance(
            class_name=class_name,
            trackid=trackid,
            width=float(obj_w),
            height=float(obj_h),
            exponent=rng.uniform(2.0, 5.0),
            mid=np.array([rng.uniform(0, width), rng.uniform(0.2 * height, 0.8 * height)]),
            velocity=_sample_velocity(rng, class_name, size, short),
            depth=rng.random(),
            texture=_sample_texture(rng, class_name, size),
        ))
    return instances
