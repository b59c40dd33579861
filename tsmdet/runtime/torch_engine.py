"""PyTorch backend: runs the exporter's online module directly (reference and debugging backend).

The module must have exactly the exported graph's signature,
``forward(image, *states) -> (boxes, scores, labels, num_dets, *new_states)``,
so this engine and the ONNX/TensorRT ones are checked against the same contract.
States are kept as host numpy arrays like the onnxruntime backend; on a GPU that
costs a copy per frame, which is acceptable for a reference backend.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .engine import Engine, import_backend
from .meta import ModelMeta

logger = logging.getLogger(__name__)


class TorchEngine(Engine):
    """Runs a ``torch.nn.Module`` with the graph signature; ``meta`` describes it as the export would."""

    def __init__(self, module: Any, meta: ModelMeta, num_streams: int = 1, device: str = "cpu") -> None:
        self._torch = import_backend("torch", "torch")
        self.device = self._torch.device(device)
        self.module = module.to(self.device).eval()
        super().__init__(meta, num_streams)

    def _forward(
        self, images: np.ndarray, states: list[np.ndarray]
    ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        torch = self._torch
        with torch.inference_mode():
            inputs = [torch.from_numpy(a).to(self.device) for a in (images, *states)]
            results = self.module(*inputs)
        n_out = len(self.meta.output_names)
        if len(results) != n_out + len(self.meta.states):
            raise ValueError(
                f"module returned {len(results)} tensors, "
                f"expected {n_out} outputs + {len(self.meta.states)} states"
            )
        arrays = [r.detach().cpu().numpy() for r in results]
        return dict(zip(self.meta.output_names, arrays[:n_out])), arrays[n_out:]
