"""TensorRT backend: a serialised engine plus its ``<engine>.meta.json`` sidecar.

I/O is bound by tensor name (``set_input_shape`` / ``set_tensor_address`` /
``execute_async_v3``), the API shared by TensorRT 8.5+, 10.x and 11.x; the binding-index
API removed in 10.0 is not used. Every call here is one all three document (see
docs/jetson.md, "TensorRT versions"; ``tests/test_trt_api_surface.py`` runs this class
against strict fakes of each version): ``Logger``, ``Runtime.deserialize_cuda_engine``,
``num_io_tensors`` / ``get_tensor_name`` / ``get_tensor_mode`` / ``get_tensor_shape`` /
``get_tensor_dtype`` / ``get_tensor_profile_shape``, ``create_execution_context``. Output
dtypes come from :data:`_NUMPY_DTYPES` keyed by ``DataType`` member name rather than from
the ``trt.nptype`` helper, whose presence in 11.x the 11.x API reference does not state.

Shift states never leave the GPU: each stream slot
owns a ping-pong pair of device buffers per state; a frame reads the current buffer
and writes the spare one, then the two swap. Only the image goes up and the
detections come down. When several slots share one call (dynamic batch axis),
their states are copied device-to-device into a contiguous staging batch and back.

Device memory goes through cuda-python (see ``cuda_memory``); buffers are
zero-initialised with cudaMemset, so a stream starts from zeros as the state
contract requires.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cuda_memory import CudaStream, DeviceBuffer
from .engine import INSTALL_HINTS, Engine, EngineUnavailableError
from .meta import ModelMeta

logger = logging.getLogger(__name__)

MIN_TRT_VERSION = (8, 5)  # name-based I/O and execute_async_v3
# tensorrt.DataType member name -> numpy dtype, for the output types an exported graph has
_NUMPY_DTYPES = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32,
                 "INT64": np.int64, "BOOL": np.bool_, "UINT8": np.uint8}


def numpy_dtype(trt_dtype: Any) -> np.dtype:
    """numpy dtype of a ``tensorrt.DataType`` (by member name: stable across 8.6, 10.x and 11.x)."""
    name = getattr(trt_dtype, "name", str(trt_dtype).rsplit(".", 1)[-1])
    if name not in _NUMPY_DTYPES:
        raise ValueError(f"engine output of TensorRT type {name} has no numpy equivalent here")
    return np.dtype(_NUMPY_DTYPES[name])


def import_tensorrt() -> Any:
    """Import ``tensorrt`` or raise ``EngineUnavailableError`` saying what to install."""
    try:
        import tensorrt
    except ImportError as exc:
        raise EngineUnavailableError(INSTALL_HINTS["trt"]) from exc
    version = tuple(int(p) for p in tensorrt.__version__.split(".")[:2])
    if version < MIN_TRT_VERSION:
        raise EngineUnavailableError(
            f"TensorRT {tensorrt.__version__} is too old (name-based I/O needs 8.5+). {INSTALL_HINTS['trt']}"
        )
    return tensorrt


def meta_sidecar_path(engine_path: str | Path) -> Path:
    """Where the builder writes, and this engine reads, the model metadata of an engine file."""
    return Path(f"{engine_path}.meta.json")


@dataclass
class _PingPong:
    """Two device buffers of one state of one stream slot; ``current`` holds the latest state."""

    current: DeviceBuffer
    spare: DeviceBuffer

    def swap(self) -> None:
        self.current, self.spare = self.spare, self.current


@dataclass(frozen=True)
class _StateBinding:
    """Device addresses one graph call reads a state from and writes the next state to."""

    input_ptr: int
    output_ptr: int


class TrtEngine(Engine):
    """Runs a serialised TensorRT engine built by ``tsmdet.deploy.tensorrt.build_engine``."""

    def __init__(self, engine_path: str | Path, num_streams: int = 1) -> None:
        trt = import_tensorrt()
        engine_path = Path(engine_path)
        sidecar = meta_sidecar_path(engine_path)
        if not sidecar.is_file():
            raise FileNotFoundError(f"{sidecar} not found: build engines with tools/build_engine.py")
        meta = ModelMeta.from_json(sidecar.read_text())

        self._trt = trt
        self._trt_logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._trt_logger)
        self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self._engine is None:
            from .errors import ModelFileError  # noqa: PLC0415  (one line, issue 13: exit 2, no traceback)
            raise ModelFileError(
                f"{engine_path}: TensorRT {trt.__version__} could not deserialise it; engines are tied "
                "to the GPU and TensorRT version they were built with, rebuild it here with "
                "tools/build_engine.py"
            )
        self._context = self._engine.create_execution_context()
        self._lock = threading.Lock()  # one execution context and CUDA stream: calls run one at a time
        self._owned: list[list[_PingPong]] = []  # every state this engine allocated, freed by close()
        self._check_io(meta)
        self.max_batch = self._profile_max_batch(meta)
        self._stream = CudaStream()

        image_bytes = 4 * 3 * meta.input_size[0] * meta.input_size[1]
        self._image = DeviceBuffer(self.max_batch * image_bytes)
        self._outputs: dict[str, tuple[DeviceBuffer, np.dtype]] = {}
        for name in meta.output_names:
            per_item = tuple(self._engine.get_tensor_shape(name))[1:]
            if any(d < 0 for d in per_item):
                raise ValueError(f"output {name!r} has dynamic non-batch dims {per_item}; "
                                 "export it padded to max_det")
            dtype = numpy_dtype(self._engine.get_tensor_dtype(name))
            nbytes = self.max_batch * int(np.prod(per_item)) * dtype.itemsize
            self._outputs[name] = (DeviceBuffer(nbytes), dtype)
        # staging for calls that batch several slots: (input, output) per state
        self._staging = [
            (DeviceBuffer(self.max_batch * s.nbytes), DeviceBuffer(self.max_batch * s.nbytes))
            for s in (meta.states if self.max_batch > 1 else ())
        ]
        super().__init__(meta, num_streams)
        logger.info("TensorRT %s engine %s: max batch %d, %d stream slot(s)",
                    trt.__version__, engine_path, self.max_batch, num_streams)

    # ------------------------------------------------------------------ setup
    def _check_io(self, meta: ModelMeta) -> None:
        trt = self._trt
        names = {self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)}
        inputs = [meta.input_name, *(s.name for s in meta.states)]
        outputs = [*meta.output_names, *(s.output for s in meta.states)]
        missing = [n for n in inputs + outputs if n not in names]
        if missing:
            raise ValueError(f"engine lacks the tensors its metadata names: {missing}")
        wrong_mode = [n for n in inputs if self._engine.get_tensor_mode(n) != trt.TensorIOMode.INPUT]
        wrong_mode += [n for n in outputs if self._engine.get_tensor_mode(n) != trt.TensorIOMode.OUTPUT]
        if wrong_mode:
            raise ValueError(f"engine tensors with the wrong I/O mode: {wrong_mode}")
        # images are uploaded and states sized as float32 (an fp16 / QDQ export keeps its I/O fp32)
        not_fp32 = [n for n in inputs + [s.output for s in meta.states]
                    if numpy_dtype(self._engine.get_tensor_dtype(n)) != np.float32]
        if not_fp32:
            raise ValueError(f"engine inputs / states that are not float32: {not_fp32}; export with fp32 I/O")

    def _profile_max_batch(self, meta: ModelMeta) -> int:
        if self._engine.get_tensor_shape(meta.input_name)[0] >= 0:
            return int(self._engine.get_tensor_shape(meta.input_name)[0])
        _, _, max_shape = self._engine.get_tensor_profile_shape(meta.input_name, 0)
        return int(max_shape[0])

    # ------------------------------------------------------------------ state slots on the device
    def _new_slot(self) -> list[_PingPong]:
        slot = [_PingPong(DeviceBuffer(s.nbytes), DeviceBuffer(s.nbytes)) for s in self.meta.states]
        self._owned.append(slot)
        return slot

    def run(self, frames, states):  # type: ignore[override]
        """As :meth:`Engine.run`; serialised, since the execution context and staging buffers are shared."""
        with self._lock:
            return super().run(frames, states)

    def _zero_slot(self, slot: list[_PingPong]) -> list[_PingPong]:
        for pair in slot:
            pair.current.zero(self._stream)
            pair.spare.zero(self._stream)
        self._stream.synchronize()
        return slot

    def _gather_states(self, slots: list[list[_PingPong]]) -> list[_StateBinding]:
        if len(slots) == 1:
            return [_StateBinding(p.current.ptr, p.spare.ptr) for p in slots[0]]
        bindings = []
        for k, (spec, (stage_in, stage_out)) in enumerate(zip(self.meta.states, self._staging)):
            for j, slot in enumerate(slots):
                stage_in.copy_from(slot[k].current.ptr, spec.nbytes, self._stream, offset=j * spec.nbytes)
            bindings.append(_StateBinding(stage_in.ptr, stage_out.ptr))
        return bindings

    def _scatter_states(
        self, slots: list[list[_PingPong]], new_states: list[_StateBinding]
    ) -> list[list[_PingPong]]:
        if len(slots) == 1:
            for pair in slots[0]:
                pair.swap()
            return slots
        for k, (spec, binding) in enumerate(zip(self.meta.states, new_states)):
            for j, slot in enumerate(slots):
                slot[k].current.copy_from(binding.output_ptr + j * spec.nbytes, spec.nbytes, self._stream)
        return slots  # ordered on self._stream before the next launch

    # ------------------------------------------------------------------ the graph call
    def _forward(
        self, images: np.ndarray, states: list[_StateBinding]
    ) -> tuple[dict[str, np.ndarray], list[_StateBinding]]:
        batch = images.shape[0]
        if batch > self.max_batch:
            raise ValueError(f"batch {batch} exceeds the engine's profile maximum {self.max_batch}")
        ctx = self._context
        ctx.set_input_shape(self.meta.input_name, tuple(images.shape))
        self._image.upload(np.ascontiguousarray(images, dtype=np.float32), self._stream)
        ctx.set_tensor_address(self.meta.input_name, self._image.ptr)
        for spec, binding in zip(self.meta.states, states):
            ctx.set_input_shape(spec.name, (batch, *spec.shape[1:]))
            ctx.set_tensor_address(spec.name, binding.input_ptr)
            ctx.set_tensor_address(spec.output, binding.output_ptr)
        for name, (buffer, _) in self._outputs.items():
            ctx.set_tensor_address(name, buffer.ptr)
        if not ctx.execute_async_v3(self._stream.handle):
            raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log above)")
        outputs = {}
        for name, (buffer, dtype) in self._outputs.items():
            outputs[name] = np.empty(tuple(ctx.get_tensor_shape(name)), dtype=dtype)
            buffer.download(outputs[name], self._stream)
        self._stream.synchronize()
        return outputs, states

    def close(self) -> None:
        buffers = [self._image, *(b for b, _ in self._outputs.values())]
        buffers += [b for pair in self._staging for b in pair]
        buffers += [b for slot in self._owned for p in slot for b in (p.current, p.spare)]
        for buffer in buffers:
            buffer.free()
        self._stream.close()
