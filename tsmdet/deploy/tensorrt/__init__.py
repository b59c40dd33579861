"""Build (or reuse) a TensorRT engine from an exported ONNX model, on the machine that will run it.

``build_engine(onnx_path, **kw) -> Path`` (:mod:`.builder`) is the entry point. Modules:

* :mod:`.profile`: precisions, the batch optimisation profile, input shapes;
* :mod:`.calibration`: INT8 calibration batches that carry the true shift states
  (onnxruntime, no TensorRT needed), the calibration cache file;
* :mod:`.cache`: the engine cache folder and key (sha256 of the ONNX bytes + TensorRT
  version + GPU + precision + profile + calibration input);
* :mod:`.trtexec`: the equivalent ``trtexec`` command line;
* :mod:`.trt_api`: every call into the ``tensorrt`` API (parse, configure, calibrator):
  the one place where TensorRT version paths live.

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
from .profile import PRECISIONS, BatchProfile, batch_profile, input_shapes
from .trtexec import trtexec_command

__all__ = [
    "DEFAULT_CACHE_DIR", "PRECISIONS", "BatchProfile", "CalibrationBatches", "batch_profile",
    "build_engine", "engine_cache_key", "input_shapes", "iter_frames", "read_calibration_cache",
    "trtexec_command", "write_calibration_cache",
]
