"""A synthetic ImageNet-VID: small videos in the exact ILSVRC2015 VID layout.

Why it exists: the real data set (about 86 GB) is not reachable from the build
machines, yet the reader, the clip sampler, training, the VID metric and the
streaming tools all need video data with the real folder layout, and the
project's central claim (temporal shift helps where a single frame is not
enough) needs a data set on which that claim can be tested in CPU minutes.

Classes (real VID names and WordNet ids; index order of ``SYNTHETIC_CLASSES``):

* ``car``  -- coloured checker texture; always moves to the RIGHT (+x).
* ``bus``  -- the same checker texture family, colours, sizes, speeds and blur
  as ``car``; always moves to the LEFT (-x).  ``(car, bus)`` is ``MOTION_PAIR``.
  The pair moves 1.5-5 % of the short image side per frame (1.8-6 px at
  160x120): visible at the stride-4 features where the first shift sits.
* ``zebra`` -- black-and-white wavy stripes; moves in any direction.
* ``giant_panda`` -- white with black blotches; moves in any direction.

Why the motion pair is a fair test of temporal modelling: every ``bus``
trajectory is a ``car`` trajectory played backwards.  Each instance's path is
parameterised around the middle frame of its video, ``centre(t) = mid +
velocity * (t - (T - 1) / 2)``, with ``mid`` drawn from one class-independent
distribution, and every other random quantity of a video (background and its
drift, occluder bar, vertical velocity, texture phase and angle, sensor noise)
has a distribution that is unchanged by reversing time.  Hence the set of single
frames containing a ``car`` has exactly the same distribution as the set of
single frames containing a ``bus``: same pixels, same box sizes, same positions,
same cut-off at the image border, same symmetric blur (a centred line kernel
shows the speed, never the sign of the direction).  A per-frame detector can do
no better than chance between the two; a model that sees the previous frame can
read the sign of the horizontal displacement.  The pair's speed is drawn in
pixels rather than relative to size because sub-pixel motion (what the slow
band gives small objects) leaves the sign nearly invisible over a few frames.

Other properties, chosen so that every part of the evaluation is exercised:

* textured, slowly drifting background (smooth noise, gradient, soft blobs);
* 1-3 instances per video, sizes log-uniform from small (under the devkit's
  ~24 px small-object threshold) to about 60% of the short image side;
* speeds (zebra, giant_panda) drawn relative to object size in three bands, so that the FGFA motion
  IoU split (slow > 0.9, medium 0.7-0.9, fast < 0.7 over +-10 frames) is
  populated in every bucket;
* motion blur proportional to speed for fast instances;
* occlusion by a background-textured bar (half of the videos) and by other
  instances (random depth order); ``occluded`` is 1 when more than 30% of the
  in-image object is covered;
* objects enter and leave the image; a box is dropped when less than 30% of
  the object is visible or a clipped side is under ``MIN_BOX_SIDE`` pixels;
  ``trackid`` is stable per instance.

Determinism: every video draws from its own ``numpy.random.Generator`` seeded
with ``(seed, split, video index)``, so the output does not depend on the number
of worker processes; JPEG quality is fixed.
"""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .vid_classes import CLASS_NAMES, NAME_TO_WNID, WNID_TO_NAME
from .vid_xml import FrameAnnotation, VIDObject, write_frame_xml

logger = logging.getLogger(__name__)

SYNTHETIC_CLASSES: tuple[str, ...] = ("car", "bus", "zebra", "giant_panda")
MOTION_PAIR: tuple[str, str] = ("car", "bus")
# Sign of the horizontal velocity of each motion-pair class.
MOTION_SIGN: dict[str, int] = {"car": +1, "bus": -1}
TEXTURE_OF_CLASS: dict[str, str] = {
    "car": "checker", "bus": "checker", "zebra": "stripes", "giant_panda": "blotches",
}

# Bumped whenever the same arguments would render different videos (2: the motion
# pair's speed is drawn in pixels). Written to VERSION_FILE so callers can tell a
# stale set from an up-to-date one.
GENERATOR_VERSION = 2
VERSION_FILE = "SYNTHETIC_VERSION"
JPEG_QUALITY = 90
MP4_FPS = 30
MIN_VISIBLE_FRACTION = 0.3   # drop a box when less of the object is visible
OCCLUDED_FRACTION = 0.3      # occluded=1 when more of the in-image object is covered
MIN_BOX_SIDE = 4.0           # pixels; smaller clipped boxes are dropped
MIN_BLUR_LENGTH = 2.0        # pixels; shorter smears are invisible, skip the filter

_SPLIT_IDS: dict[str, int] = {"train": 0, "val": 1, "mp4": 2}
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
_EXPOSURE = 0.8              # blur length = speed * exposure (fraction of a frame)
_MAX_DRIFT = 0.3             # background drift, pixels per frame per axis
_NOISE_SIGMA = 2.0           # sensor noise, grey levels
_OCCLUDER_PROBABILITY = 0.5


@dataclass
class _Texture:
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
class _Instance:
    """One object of one video: fixed appearance, straight-line motion around the middle frame."""

    class_name: str
    trackid: int
    width: float
    height: float
    exponent: float           # superellipse exponent: 2 = ellipse, large = rounded box
    mid: np.ndarray           # (2,) centre at the middle frame
    velocity: np.ndarray      # (2,) pixels per frame
    depth: float              # drawing order: larger is nearer (drawn later)
    texture: _Texture

    def centre(self, t: int, mid_t: float) -> np.ndarray:
        return self.mid + self.velocity * (t - mid_t)

    @property
    def blur_length(self) -> float:
        return float(np.hypot(*self.velocity)) * _EXPOSURE


@dataclass
class _Background:
    canvas: np.ndarray        # (H + 2m, W + 2m, 3) float32
    margin: int
    drift: np.ndarray         # (2,) pixels per frame


@dataclass
class _Occluder:
    """A static bar showing a darkened patch of the background (a pole or a beam)."""

    coverage: np.ndarray      # (H, W) float32 in [0, 1]
    pixels: np.ndarray        # (H, W, 3) float32


@dataclass(frozen=True)
class _VideoSummary:
    split: str
    index: int
    relpath: str              # video folder relative to Data/VID/<split>
    frames: int
    classes: tuple[str, ...]  # classes with at least one box
    boxes: int


def video_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one video; independent of every other video and of the worker count."""
    return np.random.default_rng([seed, _SPLIT_IDS[split], index])


def video_relpath(split: str, index: int) -> str:
    """Video folder relative to ``Data/VID/<split>``, named as in ILSVRC2015."""
    if split == "train":
        return f"ILSVRC2015_VID_train_{index // 1000:04d}/ILSVRC2015_train_{index:08d}"
    if split == "val":
        return f"ILSVRC2015_val_{index:08d}"
    raise ValueError(f"no ILSVRC2015 folder for split {split!r}")


# --------------------------------------------------------------------------- appearance


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Colour noise in [0, 1] with about ``cells`` features along the short side."""
    scale = cells / min(height, width)
    small = rng.random((max(2, round(height * scale)), max(2, round(width * scale)), 3), dtype=np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def _make_background(rng: np.random.Generator, width: int, height: int, frames: int) -> _Background:
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
    return _Background(canvas=canvas, margin=margin, drift=rng.uniform(-_MAX_DRIFT, _MAX_DRIFT, size=2))


def _background_frame(bg: _Background, t: int, mid_t: float, width: int, height: int) -> np.ndarray:
    """The frame-sized window of the canvas at time t (sub-pixel drift, bilinear)."""
    centre = bg.margin + np.array([width, height]) / 2 + bg.drift * (t - mid_t)
    return cv2.getRectSubPix(bg.canvas, (width, height), (float(centre[0]), float(centre[1])))


def _make_occluder(rng: np.random.Generator, bg: _Background, width: int, height: int) -> _Occluder:
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
    return _Occluder(coverage=np.ascontiguousarray(coverage), pixels=np.float32(0.7) * patch)


def _random_bright_color(rng: np.random.Generator) -> np.ndarray:
    """A saturated BGR colour with uniformly random hue."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(130, 255), rng.uniform(110, 255)]]], np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _tinted(rng: np.random.Generator, level: float, spread: float) -> np.ndarray:
    """A near-grey BGR colour: per-instance colour variation of the black-and-white classes."""
    return np.clip(level + rng.uniform(-spread, spread, size=3), 0, 255).astype(np.float32)


def _sample_texture(rng: np.random.Generator, class_name: str, size: float) -> _Texture:
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
    return _Texture(kind, color_a, color_b, period, angle, phases, waves, threshold)


def _texture_pixels(tex: _Texture, u: np.ndarray, v: np.ndarray) -> np.ndarray:
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


def _shape_alpha(inst: _Instance, u: np.ndarray, v: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------- instances


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


def _sample_instances(rng: np.random.Generator, width: int, height: int) -> list[_Instance]:
    """1-3 instances with class-independent size, position, depth and speed distributions."""
    short = min(width, height)
    instances = []
    for trackid in range(int(rng.integers(1, 4))):
        class_name = SYNTHETIC_CLASSES[int(rng.integers(len(SYNTHETIC_CLASSES)))]
        size = short * np.exp(rng.uniform(np.log(_SIZE_RANGE[0]), np.log(_SIZE_RANGE[1])))
        aspect = np.exp(rng.uniform(-_ASPECT_LOG_RANGE, _ASPECT_LOG_RANGE))
        obj_w, obj_h = min(size * np.sqrt(aspect), 0.9 * width), min(size / np.sqrt(aspect), 0.9 * height)
        instances.append(_Instance(
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


def _draw_instance(frame: np.ndarray, inst: _Instance, centre: np.ndarray) -> tuple[np.ndarray, int] | None:
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


def _clipped_box(inst: _Instance, centre: np.ndarray, width: int, height: int) -> tuple[float, ...] | None:
    """The object's box clipped to the image (pixel coordinates), or None if a side is too short."""
    x0 = max(0.0, float(centre[0]) - inst.width / 2)
    x1 = min(width - 1.0, float(centre[0]) + inst.width / 2)
    y0 = max(0.0, float(centre[1]) - inst.height / 2)
    y1 = min(height - 1.0, float(centre[1]) + inst.height / 2)
    if x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE:
        return None
    return x0, y0, x1, y1


def _annotate(drawn: list[tuple[_Instance, np.ndarray, int, np.ndarray]], occluder_mask: np.ndarray,
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
    instances = sorted(_sample_instances(rng, width, height), key=lambda inst: inst.depth)
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


# --------------------------------------------------------------------------- writing


def _write_video(out_dir: Path, seed: int, split: str, index: int, frames: int,
                 size: tuple[int, int]) -> _VideoSummary:
    """Write one video's JPEG frames and per-frame XMLs (also for frames without objects)."""
    cv2.setNumThreads(1)  # parallelism comes from the worker processes
    relpath = video_relpath(split, index)
    data_dir = out_dir / "Data" / "VID" / split / relpath
    ann_dir = out_dir / "Annotations" / "VID" / split / relpath
    data_dir.mkdir(parents=True, exist_ok=True)
    classes: set[str] = set()
    boxes = 0
    for t, (image, objects) in enumerate(render_synthetic_video(seed, split, index, frames, size)):
        if not cv2.imwrite(str(data_dir / f"{t:06d}.JPEG"), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"could not write {data_dir / f'{t:06d}.JPEG'}")
        write_frame_xml(ann_dir / f"{t:06d}.xml",
                        FrameAnnotation(folder=relpath, filename=f"{t:06d}", width=size[0],
                                        height=size[1], objects=objects))
        classes.update(WNID_TO_NAME[o.wnid] for o in objects)
        boxes += len(objects)
    ordered = tuple(name for name in SYNTHETIC_CLASSES if name in classes)
    return _VideoSummary(split, index, relpath, frames, ordered, boxes)


def write_sample_video(path: str | Path, seed: int = 0, index: int = 0, frames: int = 96,
                       size: tuple[int, int] = (160, 120)) -> int:
    """Write one val-like synthetic video (mp4v, 30 fps); returns the number of boxes in it.

    The streaming tools' built-in default input: deterministic for a seed, so a
    newcomer's first run sees the same video the docs describe.
    """
    cv2.setNumThreads(1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), MP4_FPS, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v video {path}; is opencv built with FFmpeg?")
    boxes = 0
    try:
        for image, objects in render_synthetic_video(seed, "mp4", index, frames, size):
            writer.write(image)
            boxes += len(objects)
    finally:
        writer.release()
    return boxes


def _write_mp4(out_dir: Path, seed: int, index: int, frames: int, size: tuple[int, int]) -> _VideoSummary:
    """Write one val-like video as ``videos/synthetic_%02d.mp4`` for the streaming tools."""
    path = out_dir / "videos" / f"synthetic_{index:02d}.mp4"
    boxes = write_sample_video(path, seed, index, frames, size)
    return _VideoSummary("mp4", index, str(path.relative_to(out_dir)), frames, (), boxes)


def _write_image_sets(out_dir: Path, summaries: list[_VideoSummary]) -> None:
    """Write ImageSets/VID as in ILSVRC2015.

    train_<k>.txt: the videos containing class k (1-based VID index), lines "<video> 1";
    val.txt: every val frame, lines "<video>/<frame:06d> <running index from 1>".
    """
    set_dir = out_dir / "ImageSets" / "VID"
    set_dir.mkdir(parents=True, exist_ok=True)
    train = sorted((s for s in summaries if s.split == "train"), key=lambda s: s.index)
    for name in SYNTHETIC_CLASSES:
        videos = [s.relpath for s in train if name in s.classes]
        if videos:
            k = CLASS_NAMES.index(name) + 1
            (set_dir / f"train_{k}.txt").write_text("".join(f"{v} 1\n" for v in videos))
    lines, running = [], 1
    for s in sorted((s for s in summaries if s.split == "val"), key=lambda s: s.index):
        for t in range(s.frames):
            lines.append(f"{s.relpath}/{t:06d} {running}\n")
            running += 1
    (set_dir / "val.txt").write_text("".join(lines))


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to mix a new set into an old one (stale videos would survive) unless told to replace it."""
    owned = [out_dir / "Data" / "VID", out_dir / "Annotations" / "VID", out_dir / "ImageSets" / "VID",
             out_dir / "videos", out_dir / VERSION_FILE]
    existing = [p for p in owned if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} already exists; choose an empty output folder "
                              "or overwrite=True (--overwrite)")
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def generator_version(out_dir: str | os.PathLike) -> int | None:
    """The generator version a set in ``out_dir`` was written with (None: unknown or pre-versioning)."""
    try:
        return int((Path(out_dir) / VERSION_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def generate_synthetic_vid(out_dir: str | os.PathLike, seed: int = 0, train_videos: int = 24,
                           val_videos: int = 8, frames: int = 32, size: tuple[int, int] = (160, 120),
                           mp4: int = 3, mp4_frames: int = 96, workers: int = 1,
                           overwrite: bool = False, progress: bool = False) -> dict[str, int]:
    """Write a synthetic data set in the ILSVRC2015 VID layout under ``out_dir``.

    ``size`` is (width, height). ``workers`` > 1 renders videos in that many
    processes; the output is identical for any worker count. Returns counts:
    videos, frames and boxes per split, and the number of mp4 files.
    """
    out_dir = Path(out_dir)
    if min(train_videos, val_videos, mp4) < 0 or frames < 1 or mp4_frames < 1 or min(size) < 16:
        raise ValueError("need non-negative video counts, at least one frame and an image of at least 16x16")
    _prepare_out_dir(out_dir, overwrite)
    jobs = ([(_write_video, out_dir, seed, "train", i, frames, size) for i in range(train_videos)]
            + [(_write_video, out_dir, seed, "val", i, frames, size) for i in range(val_videos)]
            + [(_write_mp4, out_dir, seed, i, mp4_frames, size) for i in range(mp4)])
    bar = tqdm(total=len(jobs), desc="synthetic videos", unit="video", disable=not progress)
    summaries = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for summary in pool.map(_run_job, jobs):
                summaries.append(summary)
                bar.update()
    else:
        for job in jobs:
            summaries.append(_run_job(job))
            bar.update()
    bar.close()
    _write_image_sets(out_dir, summaries)
    (out_dir / VERSION_FILE).write_text(f"{GENERATOR_VERSION}\n")
    counts = {"mp4_videos": mp4}
    for split in ("train", "val"):
        done = [s for s in summaries if s.split == split]
        counts[f"{split}_videos"] = len(done)
        counts[f"{split}_frames"] = sum(s.frames for s in done)
        counts[f"{split}_boxes"] = sum(s.boxes for s in done)
    logger.info("synthetic VID written to %s: %s", out_dir, counts)
    return counts


def _run_job(job: tuple) -> _VideoSummary:
    """Module-level trampoline so jobs pickle for the process pool."""
    function, *args = job
    return function(*args)
