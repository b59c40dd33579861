"""``build_engine``: an ONNX model -> a TensorRT engine for this GPU, built once and cached.

A second build with the same key (see :mod:`.cache`) reuses ``<cache_dir>/<key>.engine``.
Next to every engine lies ``<engine>.meta.json``, the model's ``ModelMeta`` (plus build
facts under ``extra["trt_build"]``), which ``TrtEngine`` reads instead of hard-coding shapes.

The TensorRT version picks the code path (:func:`~.plan.trt_path`: 8.6, 10.x, 11.x) and the
ONNX file's own precision (fp32, fp16 export, QDQ) decides with the requested one what is
built (:func:`~.plan.plan_build`); see :mod:`.plan` for the rules of each version.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
from pathlib import Path

from ...runtime.meta import read_onnx_meta
from ...utils.atomic import write_atomic
from ..trt_ops import check_trt_compatible
from .cache import DEFAULT_CACHE_DIR, engine_cache_key
from .calibration import CalibrationBatches, calibration_identity, read_calibration_cache
from .plan import TRT_PATHS, onnx_precision, plan_build, trt_path
from .profile import PRECISIONS, batch_profile
from .trt_api import make_calibrator, serialize_network
from .trtexec import trtexec_command

logger = logging.getLogger(__name__)


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
    onnx_kind = onnx_precision(onnx_path)
    if meta.precision != onnx_kind:
        logger.warning("%s: metadata says %s but the graph holds %s tensors; building what the graph holds",
                       onnx_path, meta.precision, onnx_kind)
    if precision == "int8" and onnx_kind != "int8" and calib_source is None \
            and read_calibration_cache(calib_cache) is None:
        raise ValueError("int8 needs calibration data: a video or image folder (--calib / calib_source) "
                         "or an existing calibration cache (--calib-cache / calib_cache), both TensorRT 8.6 "
                         "only; or a QDQ ONNX from tools/quantize.py (every version)")
    profile = batch_profile(meta, max_batch, opt_batch)
    engine_out = out or onnx_path.with_suffix(".engine")

    from ...runtime.cuda_memory import gpu_name
    from ...runtime.engine import EngineUnavailableError
    from ...runtime.trt_engine import import_tensorrt, meta_sidecar_path

    try:
        trt = import_tensorrt()
    except EngineUnavailableError:
        for path in TRT_PATHS:  # no TensorRT here: the command for every version that can build it
            try:
                plan = plan_build(path, precision, onnx_kind, warn=False)
            except ValueError:
                continue
            label = path if path == "8.6" else f"{path}.x"
            logger.info("trtexec equivalent (TensorRT %s): %s", label, trtexec_command(
                onnx_path, meta, precision, profile, workspace_gb, engine_out, calib_cache, plan))
        raise
    plan = plan_build(trt_path(trt.__version__), precision, onnx_kind)  # ValueError on a mismatch
    logger.info("trtexec equivalent: %s", trtexec_command(
        onnx_path, meta, precision, profile, workspace_gb, engine_out, calib_cache, plan))
    onnx_bytes = onnx_path.read_bytes()
    gpu = gpu_name()
    calibration = ""
    if plan.calibrator:
        calibration = calibration_identity(calib_source, calib_frames, calib_cache)
    key = engine_cache_key(onnx_bytes, trt.__version__, gpu, precision, profile, calibration)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    engine_path = cache_dir / f"{key}.engine"
    sidecar = meta_sidecar_path(engine_path)

    if engine_path.is_file() and sidecar.is_file():
        logger.info("reusing cached engine %s", engine_path)
    else:
        calibrator = None
        if plan.calibrator:
            calib_batch = profile.opt if profile else meta.batch_size
            batches = None
            if calib_source is not None:
                batches = CalibrationBatches(onnx_path, calib_source, calib_frames, calib_batch)
            calibrator = make_calibrator(trt, batches, calib_cache, calib_batch)
        logger.info("building %s engine (%s network) for %s with TensorRT %s (minutes)", precision,
                    "strongly typed" if plan.strongly_typed else "weakly typed", gpu, trt.__version__)
        data = serialize_network(trt, onnx_path, meta, plan, profile, workspace_gb, calibrator)
        build_info = {
            "precision": precision, "tensorrt": trt.__version__, "gpu": gpu,
            "onnx_precision": onnx_kind, "strongly_typed": plan.strongly_typed,
            "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "profile": dataclasses.asdict(profile) if profile else None,
        }
        engine_meta = dataclasses.replace(meta, extra={**meta.extra, "trt_build": build_info})
        write_atomic(sidecar, engine_meta.to_json().encode())  # sidecar first: engine present => complete
        write_atomic(engine_path, data)
        logger.info("engine written to %s", engine_path)

    if out is None:
        return engine_path
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(engine_path, out)
    shutil.copyfile(sidecar, meta_sidecar_path(out))
    return out
