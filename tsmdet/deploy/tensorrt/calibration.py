"""INT8 calibration data with the true shift states (pure python + onnxruntime, tested without TensorRT).

TensorRT's calibrator can only feed network *inputs*, and our inputs include the shift
caches. Calibrating with zero states would measure the activation ranges of the very first
frame only and clip the shifted channels of every later frame. So
:class:`CalibrationBatches` first runs the ONNX model on onnxruntime over the calibration
clip, frame by frame in order, carrying the states exactly as a deployed engine does; each
calibration sample is then a pair (frame prepared by the model's preprocessing contract, the true states entering that frame).
Samples of consecutive frames are grouped into batches of the calibration batch size; for a
graph with a dynamic batch axis that is the profile's *opt* batch (TensorRT calibrates at
the calibration profile's opt shape).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ...streaming.sources.folder import IMAGE_SUFFIXES  # one list of what counts as an image
from ...utils.atomic import write_atomic
from .profile import input_shapes

logger = logging.getLogger(__name__)


def iter_frames(source: str | Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """BGR frames of a video file or of an image folder (sorted by file name), in order."""
    source = Path(source)
    count = 0
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for path in files[:limit]:
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is None:
                raise ValueError(f"cannot decode {path}")
            count += 1
            yield frame
    elif source.is_file():
        capture = cv2.VideoCapture(str(source))
        try:
            while limit is None or count < limit:
                ok, frame = capture.read()
                if not ok:
                    break
                count += 1
                yield frame
        finally:
            capture.release()
    else:
        raise FileNotFoundError(f"calibration source {source} is neither a video file nor an image folder")
    if count == 0:
        raise ValueError(f"calibration source {source} yielded no frames")


class CalibrationBatches:
    """Calibration batches ``{input name: array}`` with the true states of each frame (see module doc).

    Iterating reads the source again from the start, so a calibrator may iterate more than once.
    """

    def __init__(
        self,
        onnx_path: str | Path,
        source: str | Path,
        num_frames: int = 200,
        batch_size: int = 1,
        providers: list[str] | None = None,
    ) -> None:
        from ...runtime.onnx_engine import OnnxEngine

        self.engine = OnnxEngine(onnx_path, providers=providers)
        self.meta = self.engine.meta
        if self.meta.batch_size not in (-1, batch_size):
            raise ValueError(
                f"the graph batch is static {self.meta.batch_size}; calibrate with that batch size"
            )
        self.source = Path(source)
        self.num_frames = num_frames
        self.batch_size = batch_size

    def input_nbytes(self) -> dict[str, int]:
        """Bytes of each input in one batch (what a calibrator allocates on the device)."""
        shapes = input_shapes(self.meta, self.batch_size)
        return {name: 4 * int(np.prod(shape)) for name, shape in shapes.items()}

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        meta = self.meta
        graph_batch = 1 if meta.batch_size == -1 else meta.batch_size
        states = [np.zeros(s.shape, dtype=np.float32) for s in meta.states]  # (1, C, H, W) each
        images: list[np.ndarray] = []
        entering: list[list[np.ndarray]] = []
        used = 0
        for frame in iter_frames(self.source, self.num_frames):
            image, _ = meta.preprocessing.apply(frame)  # the deployment contract, as the engines prepare frames
            images.append(image)
            entering.append(states)
            # a static batch B>1 graph gets the frame in every row; row 0 carries the stream
            _, new_states = self.engine.step(
                np.repeat(image[None], graph_batch, axis=0),
                [np.repeat(s, graph_batch, axis=0) for s in states],
            )
            states = [s[:1].copy() for s in new_states]
            if len(images) == self.batch_size:
                used += len(images)
                yield self._batch(images, entering)
                images, entering = [], []
        if images:
            logger.info("calibration: last %d frame(s) do not fill a batch of %d and are skipped",
                        len(images), self.batch_size)
        logger.info("calibration: %d frame(s) fed from %s", used, self.source)

    def _batch(self, images: list[np.ndarray], entering: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
        batch = {self.meta.input_name: np.stack(images)}
        for k, spec in enumerate(self.meta.states):
            batch[spec.name] = np.ascontiguousarray(np.concatenate([s[k] for s in entering], axis=0))
        return batch


def read_calibration_cache(path: str | Path | None) -> bytes | None:
    """The calibration cache bytes, or None when there is none (TensorRT then calibrates)."""
    if path is None or not Path(path).is_file():
        return None
    return Path(path).read_bytes()


def write_calibration_cache(path: str | Path | None, data: bytes) -> None:
    """Store TensorRT's calibration cache (atomically: a torn cache would be read as valid scales)."""
    if path is None:
        return
    path = write_atomic(path, bytes(data))
    logger.info("wrote calibration cache %s (%d bytes)", path, len(data))


def calibration_identity(source: str | Path | None, num_frames: int, calib_cache: str | Path | None) -> str:
    """What the INT8 scales are computed from: the source clip, else the cache file's content."""
    if source is not None:
        return f"{Path(source).resolve()}:{num_frames}"
    data = read_calibration_cache(calib_cache)
    return hashlib.sha256(data).hexdigest() if data else ""
