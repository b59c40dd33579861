"""PyTorch backend: runs the exporter's online module directly (reference and debugging backend).

The module must have exactly the exported graph's signature,
``forward(image, *states) -> (boxes, scores, labels, num_dets, *new_states)``,
so this engine and the ONNX/TensorRT ones are checked against the same contract.
States are kept as host numpy arrays like the onnxruntime backend; on a GPU that
costs a copy per frame, which is acceptable for a reference backend.

Threads (:mod:`tsmdet.runtime.threads`): torch's intra-op thread count is process-wide,
so the engine sets its own count around each graph call and restores the caller's after
(two engines in one process each run with theirs). Default: the thread policy's rule.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..utils.cpu import usable_cpu_count
from .engine import Engine, import_backend
from .meta import ModelMeta
from .threads import ThreadSettings, check_threads

logger = logging.getLogger(__name__)


class TorchEngine(Engine):
    """Runs a ``torch.nn.Module`` with the graph signature; ``meta`` describes it as the export would."""

    def __init__(self, module: Any, meta: ModelMeta, num_streams: int = 1, device: str = "cpu",
                 threads: int | None = None) -> None:
        """``threads``: intra-op threads of this engine's calls (default: the thread policy's rule)."""
        self._torch = import_backend("torch", "torch")
        self.device = self._torch.device(device)
        self.threads = check_threads(threads)
        self.thread_settings = ThreadSettings(
            "torch", self.threads, self._torch.get_num_interop_threads(), None, usable_cpu_count(),
            default=threads is None)
        self.module = module.to(self.device).eval()
        super().__init__(meta, num_streams)

    def _forward(
        self, images: np.ndarray, states: list[np.ndarray]
    ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        torch = self._torch
        previous = torch.get_num_threads()
        if previous != self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                inputs = [torch.from_numpy(a).to(self.device) for a in (images, *states)]
                results = self.module(*inputs)
        finally:
            if previous != self.threads:
                torch.set_num_threads(previous)
        n_out = len(self.meta.output_names)
        if len(results) != n_out + len(self.meta.states):
            raise ValueError(
                f"module returned {len(results)} tensors, "
                f"expected {n_out} outputs + {len(self.meta.states)} states"
            )
        arrays = [r.detach().cpu().numpy() for r in results]
        return dict(zip(self.meta.output_names, arrays[:n_out])), arrays[n_out:]
