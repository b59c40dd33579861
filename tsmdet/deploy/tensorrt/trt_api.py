"""Every call into the ``tensorrt`` Python API: ONNX parsing, builder configuration, the INT8 calibrator.

The one place where TensorRT versions differ. What differs is decided without TensorRT in
:mod:`.plan` (a :class:`~.plan.BuildPlan` names the network flags, builder flags and whether
a calibrator is used for the 8.6, 10.x or 11.x path); this module only executes a plan, and
touches nothing the plan's path does not have (``tests/test_trt_api_surface.py`` checks that
against strict fakes of each version's documented API). ``trt`` is the imported module,
passed in because tensorrt is imported lazily.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ...runtime.meta import ModelMeta
from .calibration import CalibrationBatches, read_calibration_cache, write_calibration_cache
from .plan import BuildPlan
from .profile import BatchProfile, input_shapes

logger = logging.getLogger(__name__)


def make_calibrator(
    trt: Any, batches: CalibrationBatches | None, cache_path: str | Path | None, batch_size: int
) -> Any:
    """An ``IInt8EntropyCalibrator2`` over ``batches`` (defined here because tensorrt is imported lazily).

    Only the 8.6 path uses it (deprecated in 10.1, removed in 11: those build INT8 from QDQ).
    """
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


def network_flags(trt: Any, plan: BuildPlan) -> int:
    """The ``create_network`` bit mask of the plan's NetworkDefinitionCreationFlag members (0 for none)."""
    flags = 0
    for name in plan.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    return flags


def parse_onnx(trt: Any, builder: Any, onnx_path: Path, trt_logger: Any, plan: BuildPlan) -> tuple[Any, Any]:
    network = builder.create_network(network_flags(trt, plan))
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "\n".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}:\n{errors}")
    return network, parser  # the parser must outlive the network's build


def serialize_network(
    trt: Any,
    onnx_path: Path,
    meta: ModelMeta,
    plan: BuildPlan,
    profile: BatchProfile | None,
    workspace_gb: float,
    calibrator: Any = None,
) -> bytes:
    """Parse, configure as ``plan`` says and ``build_serialized_network``; the engine bytes."""
    if plan.calibrator and calibrator is None:
        raise ValueError("this build plan calibrates INT8 but no calibrator was given")
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network, _parser = parse_onnx(trt, builder, onnx_path, trt_logger, plan)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if plan.query_fast_fp16 and not builder.platform_has_fast_fp16:
        logger.warning("this GPU has no fast FP16; the engine will be slower than expected")
    for name in plan.builder_flags:  # 8.6 and 10.x weak fp16 only; int8 also enables fp16 (rest of the net)
        config.set_flag(getattr(trt.BuilderFlag, name))
    opt_profile = None
    if profile is not None:
        opt_profile = builder.create_optimization_profile()
        shapes = [input_shapes(meta, b) for b in (profile.min, profile.opt, profile.max)]
        for name in shapes[0]:
            opt_profile.set_shape(name, shapes[0][name], shapes[1][name], shapes[2][name])
        config.add_optimization_profile(opt_profile)
    if plan.calibrator:  # 8.6 implicit quantization; a QDQ graph needs no calibrator
        config.int8_calibrator = calibrator
        if opt_profile is not None:
            config.set_calibration_profile(opt_profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path} (see its log above)")
    return bytes(serialized)
