"""Device memory for the TensorRT backend and the INT8 calibrator, through cuda-python.

Why cuda-python (``cuda.bindings.runtime``, formerly ``cuda.cudart``) and not torch
or pycuda: it is NVIDIA's own binding that the TensorRT samples use, it exists for
x86_64 and JetPack alike, and it keeps a TensorRT deployment free of PyTorch
(a multi-GB install on a Jetson). Imported lazily: nothing here loads CUDA until
a buffer or stream is created.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .engine import INSTALL_HINTS, EngineUnavailableError


def cudart() -> Any:
    """The cuda-python runtime module (new location first, then the pre-12.8 one)."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime
        except ImportError as exc:
            raise EngineUnavailableError(INSTALL_HINTS["cuda-python"]) from exc
    return runtime


def check(result: tuple) -> Any:
    """Unpack a cuda-python ``(error, *values)`` tuple, raising on any error."""
    err, *values = result
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {int(err)}: {err}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def cuda_device_count() -> int:
    """Number of visible CUDA GPUs; 0 when there is no driver or no GPU."""
    rt = cudart()
    err, count = rt.cudaGetDeviceCount()
    return int(count) if int(err) == 0 else 0


def gpu_name(device: int = 0) -> str:
    """Marketing name of the GPU (e.g. 'Orin', 'NVIDIA H100 80GB HBM3'); part of the engine cache key."""
    props = check(cudart().cudaGetDeviceProperties(device))
    name = props.name
    return (name.decode() if isinstance(name, bytes) else str(name)).rstrip("\x00").strip()


class CudaStream:
    """One CUDA stream; every copy and launch of an engine is ordered on it."""

    def __init__(self) -> None:
        self._rt = cudart()
        self.stream = check(self._rt.cudaStreamCreate())

    @property
    def handle(self) -> int:
        return int(self.stream)

    def synchronize(self) -> None:
        check(self._rt.cudaStreamSynchronize(self.stream))

    def close(self) -> None:
        if self.stream is not None:
            check(self._rt.cudaStreamDestroy(self.stream))
            self.stream = None


class DeviceBuffer:
    """A zero-initialised device allocation of ``nbytes`` (cudaMalloc + cudaMemset)."""

    def __init__(self, nbytes: int) -> None:
        self._rt = cudart()
        self.nbytes = int(nbytes)
        self.ptr = int(check(self._rt.cudaMalloc(self.nbytes)))
        check(self._rt.cudaMemset(self.ptr, 0, self.nbytes))

    def zero(self, stream: CudaStream) -> None:
        check(self._rt.cudaMemsetAsync(self.ptr, 0, self.nbytes, stream.stream))

    def upload(self, array: np.ndarray, stream: CudaStream) -> None:
        """Host -> device copy of a C-contiguous array into the start of this buffer."""
        if not array.flags.c_contiguous or array.nbytes > self.nbytes:
            raise ValueError(f"cannot upload {array.nbytes} bytes (contiguous={array.flags.c_contiguous}) "
                             f"into a {self.nbytes}-byte buffer")
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        check(self._rt.cudaMemcpyAsync(self.ptr, array.ctypes.data, array.nbytes, kind, stream.stream))

    def download(self, array: np.ndarray, stream: CudaStream) -> None:
        """Device -> host copy into a C-contiguous array (complete after ``stream.synchronize()``)."""
        if not array.flags.c_contiguous or array.nbytes > self.nbytes:
            raise ValueError(f"cannot download {self.nbytes} bytes into array of {array.nbytes}")
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        check(self._rt.cudaMemcpyAsync(array.ctypes.data, self.ptr, array.nbytes, kind, stream.stream))

    def copy_from(self, src_ptr: int, nbytes: int, stream: CudaStream, offset: int = 0) -> None:
        """Device -> device copy of ``nbytes`` from ``src_ptr`` to ``self.ptr + offset``."""
        if offset + nbytes > self.nbytes:
            raise ValueError(f"copy of {nbytes} bytes at offset {offset} overflows {self.nbytes}-byte buffer")
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        check(self._rt.cudaMemcpyAsync(self.ptr + offset, src_ptr, nbytes, kind, stream.stream))

    def free(self) -> None:
        if self.ptr:
            check(self._rt.cudaFree(self.ptr))
            self.ptr = 0
