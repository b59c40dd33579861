"""Build (or reuse) a TensorRT engine from an exported ONNX model, on the machine that will run it.

``build_engine(onnx_path, **kw) -> Path`` (:mod:`.builder`) is the entry point. Modules:

* :mod:`.profile`: precisions, the batch optimisation profile, input shapes;
* :mod:`.calibration`: INT8 calibration batches that carry the true shift states
  (onnxruntime, no TensorRT needed), the calibration cache file;
* :mod:`.cache`: the engine cache folder and key (sha256 of the ONNX bytes + TensorRT
  version + GPU + precision + profile + calibration input);
* :mod:`.plan`: the version path (8.6 / 10.x / 11.x, from ``tensorrt.__version__``), the
  ONNX file's precision (fp32, fp16, QDQ int8) and the build plan (network flags, builder
  flags, calibrator or not) that follows, decided without TensorRT;
* :mod:`.trtexec`: the equivalent ``trtexec`` command line, from the same plan;
* :mod:`.trt_api`: every call into the ``tensorrt`` API (parse, configure, calibrator): it
  executes a plan and touches nothing that plan's version does not document.

Everything that needs TensorRT or CUDA is imported lazily; without TensorRT,
``build_engine`` validates its inputs, logs the equivalent ``trtexec`` command and
raises ``EngineUnavailableError`` saying what to install.
"""

from __future__ import annotations

from .builder import build_engine
from .cache import DEFAULT_CACHE_DIR, engine_cache_key
from .calibration import (
    CalibrationBatches,
    iter_frames,
    read_calibration_cache,
    write_calibration_cache,
)
from .plan import TRT_PATHS, BuildPlan, onnx_precision, plan_build, trt_path
from .profile import PRECISIONS, BatchProfile, batch_profile, input_shapes
from .trtexec import trtexec_command

__all__ = [
    "DEFAULT_CACHE_DIR", "PRECISIONS", "TRT_PATHS", "BatchProfile", "BuildPlan", "CalibrationBatches",
    "batch_profile", "onnx_precision", "plan_build", "trt_path",
    "build_engine", "engine_cache_key", "input_shapes", "iter_frames", "read_calibration_cache",
    "trtexec_command", "write_calibration_cache",
]
