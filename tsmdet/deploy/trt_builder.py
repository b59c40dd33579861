"""Build (or reuse) a TensorRT engine from an exported ONNX model, on the machine that will run it.

Engines are specific to the GPU and the TensorRT version that built them, so they
are cached under a key of sha256(onnx bytes) + TensorRT version + GPU name +
precision + batch profile (+ calibration input for INT8): a second build with the
same key reuses ``<cache_dir>/<key>.engine``. Next to every engine lies
``<engine>.meta.json``, the model's ``ModelMeta`` (plus build facts under
``extra["trt_build"]``), which ``TrtEngine`` reads instead of hard-coding shapes.

INT8 and the shift states. TensorRT's calibrator can only feed network *inputs*,
and our inputs include the shift caches. Calibrating with zero states would
measure the activation ranges of the very first frame only and clip the shifted
channels of every later frame. So ``CalibrationBatches`` first runs the ONNX model
on onnxruntime over the calibration clip, frame by frame in order, carrying the
states exactly as a deployed engine does; each calibration sample is then a pair
(letterboxed frame, the true states entering that frame). Samples of consecutive
frames are grouped into batches of the calibration batch size; for a graph with a
dynamic batch axis that is the profile's *opt* batch (TensorRT calibrates at the
calibration profile's opt shape). This part is pure python + onnxruntime and is
tested without TensorRT.

Everything that needs TensorRT or CUDA is imported lazily; without TensorRT,
``build_engine`` validates its inputs, logs the equivalent ``trtexec`` command and
raises ``EngineUnavailableError`` saying what to install.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..runtime.meta import ModelMeta, read_onnx_meta
from ..runtime.preprocess import letterbox
from .trt_ops import check_trt_compatible

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DEFAULT_CACHE_DIR = Path(os.environ.get("TSMDET_ENGINE_CACHE", "~/.cache/tsmdet/engines")).expanduser()


# ---------------------------------------------------------------------- shapes and profile
@dataclass(frozen=True)
class BatchProfile:
    """Batch sizes of the optimisation profile; ``None`` everywhere means a static graph batch."""

    min: int
    opt: int
    max: int


def batch_profile(meta: ModelMeta, max_batch: int = 1, opt_batch: int | None = None) -> BatchProfile | None:
    """Profile for a dynamic batch axis (min 1, opt/max from the arguments), ``None`` for a static one."""
    if meta.batch_size != -1:
        if max_batch != 1 and max_batch != meta.batch_size:
            logger.warning("the ONNX batch is static (%d); max_batch=%d is ignored",
                           meta.batch_size, max_batch)
        return None
    opt = max_batch if opt_batch is None else opt_batch
    if not 1 <= opt <= max_batch:
        raise ValueError(f"need 1 <= opt_batch <= max_batch, got opt={opt}, max={max_batch}")
    return BatchProfile(1, opt, max_batch)


def input_shapes(meta: ModelMeta, batch: int) -> dict[str, tuple[int, ...]]:
    """Every graph input's shape at a given batch: the image, then the states (same batch axis)."""
    width, height = meta.input_size
    shapes = {meta.input_name: (batch, 3, height, width)}
    shapes.update((s.name, (batch, *s.shape[1:])) for s in meta.states)
    return shapes


# ---------------------------------------------------------------------- INT8 calibration data
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
        from ..runtime.onnx_engine import OnnxEngine

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
            image, _ = letterbox(frame, meta.input_size, meta.pad_value, meta.channel_order)
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
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    logger.info("wrote calibration cache %s (%d bytes)", path, len(data))


def _make_calibrator(
    trt: Any, batches: CalibrationBatches | None, cache_path: str | Path | None, batch_size: int
) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``batches`` (defined here because tensorrt is imported lazily)."""
    from ..runtime.cuda_memory import CudaStream, DeviceBuffer

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = iter(batches) if batches is not None else iter(())
            self._stream = CudaStream()
            nbytes = batches.input_nbytes() if batches is not None else {}
            self._buffers = {name: DeviceBuffer(size) for name, size in nbytes.items()}

        def get_batch_size(self) -> int:
            return batch_size

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            for name in names:
                self._buffers[name].upload(batch[name], self._stream)
            self._stream.synchronize()
            return [self._buffers[name].ptr for name in names]

        def read_calibration_cache(self) -> bytes | None:
            data = read_calibration_cache(cache_path)
            if data is not None:
                logger.info("using calibration cache %s", cache_path)
            return data

        def write_calibration_cache(self, cache: Any) -> None:
            write_calibration_cache(cache_path, bytes(cache))

    return EntropyCalibrator()


# ---------------------------------------------------------------------- cache key and trtexec
def engine_cache_key(
    onnx_bytes: bytes,
    trt_version: str,
    gpu_name: str,
    precision: str,
    profile: BatchProfile | None,
    calibration: str = "",
) -> str:
    """sha256 over everything that makes an engine file valid only for one build configuration."""
    digest = hashlib.sha256(onnx_bytes)
    config = {
        "trt": trt_version,
        "gpu": gpu_name,
        "precision": precision,
        "profile": dataclasses.asdict(profile) if profile else "static",
        "calibration": calibration,
    }
    digest.update(json.dumps(config, sort_keys=True).encode())
    return digest.hexdigest()


def _calibration_identity(source: str | Path | None, num_frames: int, calib_cache: str | Path | None) -> str:
    """What the INT8 scales are computed from: the source clip, else the cache file's content."""
    if source is not None:
        return f"{Path(source).resolve()}:{num_frames}"
    data = read_calibration_cache(calib_cache)
    return hashlib.sha256(data).hexdigest() if data else ""


def trtexec_command(
    onnx_path: str | Path,
    meta: ModelMeta,
    precision: str,
    profile: BatchProfile | None,
    workspace_gb: float,
    engine_path: str | Path,
    calib_cache: str | Path | None = None,
) -> str:
    """The ``trtexec`` line that builds the same engine (trtexec cannot calibrate: INT8 needs a cache)."""
    parts = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
             f"--memPoolSize=workspace:{int(workspace_gb * 1024)}"]
    if precision in ("fp16", "int8"):
        parts.append("--fp16")
    if precision == "int8":
        parts += ["--int8", f"--calib={calib_cache or 'CALIBRATION.cache'}"]
    if profile is not None:
        for flag, batch in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
            spec = ",".join(f"{n}:{'x'.join(map(str, s))}" for n, s in input_shapes(meta, batch).items())
            parts.append(f"--{flag}Shapes={spec}")
    return " ".join(parts)


# ---------------------------------------------------------------------- the build
def _parse_onnx(trt: Any, builder: Any, onnx_path: Path, trt_logger: Any) -> tuple[Any, Any]:
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}:\n{errors}")
    return network, parser  # the parser must outlive the network's build


def _serialize(
    trt: Any,
    onnx_path: Path,
    meta: ModelMeta,
    precision: str,
    profile: BatchProfile | None,
    workspace_gb: float,
    calibrator: Any,
) -> bytes:
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network, _parser = _parse_onnx(trt, builder, onnx_path, trt_logger)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision in ("fp16", "int8"):
        if not builder.platform_has_fast_fp16:
            logger.warning("this GPU has no fast FP16; the engine will be slower than expected")
        config.set_flag(trt.BuilderFlag.FP16)  # int8 too: layers left unquantised run in fp16
    opt_profile = None
    if profile is not None:
        opt_profile = builder.create_optimization_profile()
        shapes = [input_shapes(meta, b) for b in (profile.min, profile.opt, profile.max)]
        for name in shapes[0]:
            opt_profile.set_shape(name, shapes[0][name], shapes[1][name], shapes[2][name])
        config.add_optimization_profile(opt_profile)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator
        if opt_profile is not None:
            config.set_calibration_profile(opt_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path} (see its log above)")
    return bytes(serialized)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build_engine(
    onnx_path: str | Path,
    precision: str = "fp16",
    calib_source: str | Path | None = None,
    calib_cache: str | Path | None = None,
    calib_frames: int = 200,
    workspace_gb: float = 4.0,
    max_batch: int = 1,
    opt_batch: int | None = None,
    out: str | Path | None = None,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
) -> Path:
    """Build a TensorRT engine for this GPU (or reuse the cached one) and return its path.

    Checks run before TensorRT is touched, so their errors come first: the ONNX
    file exists, TensorRT's parser supports all its operators, the arguments agree.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX model {onnx_path} not found")
    check_trt_compatible(onnx_path)
    meta = read_onnx_meta(str(onnx_path))
    if precision == "int8" and calib_source is None and read_calibration_cache(calib_cache) is None:
        raise ValueError("int8 needs calibration data: a video or image folder (--calib / calib_source) "
                         "or an existing calibration cache (--calib-cache / calib_cache)")
    profile = batch_profile(meta, max_batch, opt_batch)
    trtexec = trtexec_command(onnx_path, meta, precision, profile, workspace_gb,
                              out or onnx_path.with_suffix(".engine"), calib_cache)
    logger.info("trtexec equivalent: %s", trtexec)

    from ..runtime.cuda_memory import gpu_name
    from ..runtime.trt_engine import import_tensorrt, meta_sidecar_path

    trt = import_tensorrt()
    onnx_bytes = onnx_path.read_bytes()
    gpu = gpu_name()
    calibration = ""
    if precision == "int8":
        calibration = _calibration_identity(calib_source, calib_frames, calib_cache)
    key = engine_cache_key(onnx_bytes, trt.__version__, gpu, precision, profile, calibration)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    engine_path = cache_dir / f"{key}.engine"
    sidecar = meta_sidecar_path(engine_path)

    if engine_path.is_file() and sidecar.is_file():
        logger.info("reusing cached engine %s", engine_path)
    else:
        calibrator = None
        if precision == "int8":
            calib_batch = profile.opt if profile else meta.batch_size
            batches = None
            if calib_source is not None:
                batches = CalibrationBatches(onnx_path, calib_source, calib_frames, calib_batch)
            calibrator = _make_calibrator(trt, batches, calib_cache, calib_batch)
        logger.info("building %s engine for %s with TensorRT %s (minutes)", precision, gpu, trt.__version__)
        data = _serialize(trt, onnx_path, meta, precision, profile, workspace_gb, calibrator)
        build_info = {
            "precision": precision, "tensorrt": trt.__version__, "gpu": gpu,
            "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "profile": dataclasses.asdict(profile) if profile else None,
        }
        engine_meta = dataclasses.replace(meta, extra={**meta.extra, "trt_build": build_info})
        _write_atomic(sidecar, engine_meta.to_json().encode())  # sidecar first: engine present => complete
        _write_atomic(engine_path, data)
        logger.info("engine written to %s", engine_path)

    if out is None:
        return engine_path
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(engine_path, out)
    shutil.copyfile(sidecar, meta_sidecar_path(out))
    return out
