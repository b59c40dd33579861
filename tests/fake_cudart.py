"""cuda-python's runtime API over host memory, for tests of the TensorRT code paths without a GPU.

"Device pointers" are host addresses. NOT CUDA: it proves bookkeeping (allocation, zeroing, copies,
frees), never kernels. ``fill`` is the byte fresh allocations hold: garbage (e.g. 0x47) lets a test
prove the engine zeroes its states itself.
"""
from __future__ import annotations

import ctypes
import sys
import types

import numpy as np


class HostCudart(types.ModuleType):
    class cudaMemcpyKind:  # noqa: N801 (cuda-python's name)
        cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice = 1, 2, 3

    def __init__(self, fill: int = 0) -> None:
        super().__init__("cuda.bindings.runtime")
        self.fill = fill
        self.live: dict[int, np.ndarray] = {}

    def cudaMalloc(self, nbytes):  # noqa: N802
        buffer = np.full(max(nbytes, 1), self.fill, np.uint8)
        self.live[buffer.ctypes.data] = buffer
        return 0, buffer.ctypes.data

    def cudaFree(self, ptr):  # noqa: N802
        del self.live[ptr]
        return (0,)

    def cudaMemset(self, ptr, value, nbytes, stream=None):  # noqa: N802
        ctypes.memset(ptr, value, nbytes)
        return (0,)

    cudaMemsetAsync = cudaMemset

    def cudaMemcpyAsync(self, dst, src, nbytes, kind, stream):  # noqa: N802
        ctypes.memmove(dst, src, nbytes)
        return (0,)

    def cudaStreamCreate(self):  # noqa: N802
        return 0, 7

    def cudaStreamSynchronize(self, stream):  # noqa: N802
        return (0,)

    cudaStreamDestroy = cudaStreamSynchronize

    def cudaGetDeviceProperties(self, device):  # noqa: N802
        return 0, types.SimpleNamespace(name=b"Fake GPU")

    def cudaGetDeviceCount(self):  # noqa: N802
        return 0, 1


def install_host_cudart(monkeypatch, fill: int = 0) -> HostCudart:
    """Put a :class:`HostCudart` in ``sys.modules`` as ``cuda.bindings.runtime`` (undone by monkeypatch)."""
    cudart = HostCudart(fill)
    cuda_pkg, bindings_pkg = types.ModuleType("cuda"), types.ModuleType("cuda.bindings")
    cuda_pkg.bindings, bindings_pkg.runtime = bindings_pkg, cudart
    for name, module in (("cuda", cuda_pkg), ("cuda.bindings", bindings_pkg), ("cuda.bindings.runtime", cudart)):
        monkeypatch.setitem(sys.modules, name, module)
    return cudart
