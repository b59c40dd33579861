"""Build configuration without TensorRT: precisions, the batch optimisation profile, input shapes."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from ...runtime.meta import ModelMeta

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class BatchProfile:
    """Batch sizes of the optimisation profile; ``None`` everywhere means a static graph batch."""

    min: int
    opt: int
    max: int


def batch_profile(meta: ModelMeta, max_batch: int = 1, opt_batch: int | None = None) -> BatchProfile | None:
    """Profile for a dynamic batch axis (min 1, opt/max from the arguments), ``None`` for a static one."""
    if meta.batch_size != -1:
        if max_batch != 1 and max_batch != meta.batch_size:
            logger.warning("the ONNX batch is static (%d); max_batch=%d is ignored",
                           meta.batch_size, max_batch)
        return None
    opt = max_batch if opt_batch is None else opt_batch
    if not 1 <= opt <= max_batch:
        raise ValueError(f"need 1 <= opt_batch <= max_batch, got opt={opt}, max={max_batch}")
    return BatchProfile(1, opt, max_batch)


def input_shapes(meta: ModelMeta, batch: int) -> dict[str, tuple[int, ...]]:
    """Every graph input's shape at a given batch: the image, then the states (same batch axis)."""
    width, height = meta.input_size
    shapes = {meta.input_name: (batch, 3, height, width)}
    shapes.update((s.name, (batch, *s.shape[1:])) for s in meta.states)
    return shapes
