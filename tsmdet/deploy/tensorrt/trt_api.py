"""Every call into the ``tensorrt`` Python API: ONNX parsing, builder configuration, the INT8 calibrator.

The one place where TensorRT versions differ (network creation flags, calibrator and
builder-config calls), so a new version path (8.6 / 10 / 11) is added here and nowhere
else. ``trt`` is the imported module, passed in because tensorrt is imported lazily.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ...runtime.meta import ModelMeta
from .calibration import CalibrationBatches, read_calibration_cache, write_calibration_cache
from .profile import BatchProfile, input_shapes

logger = logging.getLogger(__name__)


def make_calibrator(
    trt: Any, batches: CalibrationBatches | None, cache_path: str | Path | None, batch_size: int
) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``batches`` (defined here because tensorrt is imported lazily)."""
    from ...runtime.cuda_memory import CudaStream, DeviceBuffer

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


def parse_onnx(trt: Any, builder: Any, onnx_path: Path, trt_logger: Any) -> tuple[Any, Any]:
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}:\n{errors}")
    return network, parser  # the parser must outlive the network's build


def serialize_network(
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
    network, _parser = parse_onnx(trt, builder, onnx_path, trt_logger)
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
