"""The preprocessing contract: how a camera frame becomes the network input, and how boxes map back.

One definition, :class:`Preprocess`, is written into the exported model's metadata
(``ModelMeta.preprocess``) and stored in the detector configs (top-level ``preprocess =
dict(...)``). Both paths are derived from it: every engine calls :meth:`Preprocess.apply`
(via ``ModelMeta.preprocessing``), and the mmdet test pipeline's ``ContractPreprocess``
transform (``tsmdet.datasets.preprocess_pipeline``) calls the same method. So the pixels a
deployed model sees are exactly the pixels ``tools/test.py`` evaluated (and the INT8
calibrator measured).

Two placements exist:

* ``pad_position='bottom_right'`` (every export since the contract): mmdet's test-time
  geometry. The frame is resized keeping its aspect ratio to fit inside ``scale`` (mmcv's
  ``rescale_size`` arithmetic: ``int(x * s + 0.5)``, per-axis scale factors
  ``new_w / w``, ``new_h / h`` as mmdet's ``Resize`` records them), placed at the top left
  and padded to ``input_size`` with ``pad_value``. The default pad value is the mean,
  i.e. 0 after normalisation, which is what mmdet's ``DetDataPreprocessor`` pads with.
* ``pad_position='center'``: the original letterbox (one scale ``min`` ratio, Python
  rounding, centred on a grey canvas). Files exported before the contract carry no
  ``preprocess`` entry and are run this way, as before.

``keep_ratio=False`` stretches the frame to ``scale`` instead (mmcv's ``Resize(keep_ratio=
False)``), which is what the TSM online gesture demo does to its camera frame (640x480 ->
224x224, no crop): a network trained that way sees distorted shapes, and a letterboxed frame
would give it other logits.

Mean/std normalisation is NOT done here: it lives inside the exported graph, which keeps
the host side a resize and a copy; the contract records mean/std so the mmdet side can be
checked against it. Only numpy and OpenCV are used (the runtime's dependency rule).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

PAD_POSITIONS = ("bottom_right", "center")
CHANNEL_ORDERS = ("RGB", "BGR")
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class LetterboxInfo:
    """How one frame was placed in the network input: ``input = frame * scale + pad`` per axis.

    ``scale`` is the x (and, when ``scale_y`` is None, also the y) factor; mmdet records
    separate factors because rounding makes ``new_w / w`` and ``new_h / h`` differ slightly.
    """

    scale: float
    pad_x: int
    pad_y: int
    orig_w: int
    orig_h: int
    scale_y: float | None = None

    @property
    def scale_xy(self) -> tuple[float, float]:
        return self.scale, self.scale if self.scale_y is None else self.scale_y


def _check_frame(frame_bgr: np.ndarray, channel_order: str) -> None:
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) frame, got shape {frame_bgr.shape}")
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")


def letterbox(
    frame_bgr: np.ndarray,
    size: tuple[int, int],
    pad_value: float = 114.0,
    channel_order: str = "RGB",
) -> tuple[np.ndarray, LetterboxInfo]:
    """Resize keeping the aspect ratio and centre the result on a ``pad_value`` canvas (``pad_position='center'``).

    Args:
        frame_bgr: (H, W, 3) uint8 frame as OpenCV decodes it.
        size: (width, height) of the network input.
        pad_value: value of the padding pixels (same in all channels).
        channel_order: "RGB" or "BGR", the order the graph expects.

    Returns:
        A float32 (3, h, w) tensor with values 0..255 and the placement info.
    """
    _check_frame(frame_bgr, channel_order)
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


def fit_size(orig_w: int, orig_h: int, scale: tuple[int, int]) -> tuple[int, int]:
    """(new_w, new_h) of a keep-ratio resize into the (w, h) box ``scale``, with mmcv's rounding.

    mmcv's ``rescale_size`` uses ``min(long / max(h, w), short / min(h, w))``; for a frame
    whose orientation matches the box's (landscape in landscape, or square) that is
    ``min(w_box / w, h_box / h)``, used here for every frame so that a portrait frame also
    fits the fixed-size graph input.
    """
    factor = min(scale[0] / orig_w, scale[1] / orig_h)
    return max(1, int(orig_w * factor + 0.5)), max(1, int(orig_h * factor + 0.5))


@dataclass(frozen=True)
class Preprocess:
    """The one preprocessing definition of a deployed detector (see the module docstring).

    Attributes:
        input_size: (width, height) of the network input (a multiple of the pad divisor).
        scale: (width, height) box the frame is resized to fit in, keeping its aspect ratio
            (mmdet's test ``Resize`` scale); None means ``input_size``.
        pad_position: 'bottom_right' (mmdet) or 'center' (the original letterbox).
        pad_value: raw 0..255 value of the padding per channel, in ``channel_order``;
            None means ``mean`` (0 after normalisation, as mmdet pads).
        channel_order: 'RGB' or 'BGR', the channel order of the graph input.
        mean, std: the normalisation the graph applies (in ``channel_order``).
        keep_ratio: False resizes the frame to exactly ``scale`` (aspect ratio not kept), then
            pads to ``input_size`` bottom-right as above.
    """

    input_size: tuple[int, int]
    scale: tuple[int, int] | None = None
    pad_position: str = "bottom_right"
    pad_value: tuple[float, float, float] | None = None
    channel_order: str = "RGB"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    keep_ratio: bool = True

    def __post_init__(self) -> None:
        if not self.keep_ratio and self.pad_position == "center":
            raise ValueError("pad_position='center' is the keep-ratio letterbox; keep_ratio=False needs "
                             "pad_position='bottom_right'")
        if self.pad_position not in PAD_POSITIONS:
            raise ValueError(f"pad_position must be one of {PAD_POSITIONS}, got {self.pad_position!r}")
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"channel_order must be one of {CHANNEL_ORDERS}, got {self.channel_order!r}")
        w, h = self.resize_box
        if w > self.input_size[0] or h > self.input_size[1]:
            raise ValueError(f"resize scale {w}x{h} does not fit the network input "
                             f"{self.input_size[0]}x{self.input_size[1]}")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Preprocess":
        """From a config's ``preprocess = dict(...)`` or the metadata JSON (lists become tuples)."""
        known = {"input_size", "scale", "pad_position", "pad_value", "channel_order", "mean", "std", "keep_ratio"}
        unknown = set(raw) - known - {"type"}
        if unknown:
            raise ValueError(f"unknown preprocess keys {sorted(unknown)}; known: {sorted(known)}")
        values = {k: raw[k] for k in known if k in raw}
        for key in ("input_size", "scale", "pad_value", "mean", "std"):
            if values.get(key) is not None:
                values[key] = tuple(int(v) if key in ("input_size", "scale") else float(v) for v in values[key])
        if not isinstance(values.get("keep_ratio", True), bool):
            raise ValueError(f"keep_ratio must be true or false, got {values['keep_ratio']!r}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # ------------------------------------------------------------------ derived values
    @property
    def resize_box(self) -> tuple[int, int]:
        return self.scale or self.input_size

    @property
    def pad_pixel(self) -> tuple[float, float, float]:
        """The raw padding value per channel, in ``channel_order``."""
        return self.mean if self.pad_value is None else self.pad_value

    # ------------------------------------------------------------------ the contract
    def apply(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, LetterboxInfo]:
        """(H, W, 3) uint8 BGR frame -> float32 (3, input_h, input_w) raw 0..255 in ``channel_order``."""
        _check_frame(frame_bgr, self.channel_order)
        if self.pad_position == "center":
            pads = set(self.pad_pixel)
            if len(pads) != 1:
                raise ValueError("pad_position='center' (letterbox) takes one pad value for all channels")
            return letterbox(frame_bgr, self.input_size, pads.pop(), self.channel_order)
        out_w, out_h = self.input_size
        orig_h, orig_w = frame_bgr.shape[:2]
        new_w, new_h = fit_size(orig_w, orig_h, self.resize_box) if self.keep_ratio else self.resize_box
        resized = frame_bgr
        if (new_w, new_h) != (orig_w, orig_h):
            resized = cv2.resize(frame_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        if self.channel_order == "RGB":
            resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        canvas = np.empty((out_h, out_w, 3), dtype=np.float32)  # (h, w, 3)
        canvas[...] = np.asarray(self.pad_pixel, dtype=np.float32)
        canvas[:new_h, :new_w] = resized
        tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1))  # (3, h, w)
        return tensor, LetterboxInfo(scale=new_w / orig_w, pad_x=0, pad_y=0, orig_w=orig_w, orig_h=orig_h,
                                     scale_y=new_h / orig_h)

    def map_back(self, boxes: np.ndarray, info: LetterboxInfo) -> np.ndarray:
        """Network-input xyxy boxes -> original-frame pixels, clipped to the frame."""
        return unletterbox_boxes(boxes, info)


def unletterbox_boxes(boxes: np.ndarray, info: LetterboxInfo) -> np.ndarray:
    """Map (n, 4) xyxy boxes from network-input pixels to original-frame pixels, clipped to the frame."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scale_x, scale_y = info.scale_xy
    out = np.empty_like(boxes)
    out[:, 0::2] = (boxes[:, 0::2] - info.pad_x) / scale_x
    out[:, 1::2] = (boxes[:, 1::2] - info.pad_y) / scale_y
    np.clip(out[:, 0::2], 0.0, float(info.orig_w), out=out[:, 0::2])
    np.clip(out[:, 1::2], 0.0, float(info.orig_h), out=out[:, 1::2])
    return out
