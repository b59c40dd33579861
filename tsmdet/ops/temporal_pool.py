"""Temporal max pooling between backbone stages (TSM's optional ``temporal_pool``).

The original TSM code can halve the number of frames before ResNet's ``layer2``
with a max pool over time (kernel 3, stride 2, padding 1): the later stages
then see ``T // 2`` frames, which halves their cost. A pooled backbone mixes
frames t-1, t, t+1, so it cannot run one frame at a time (no online mode).

Pure torch and export-safe: one reshape, one ``max_pool3d`` (an ONNX ``MaxPool``),
no in-place writes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pooled_segments(num_segments: int) -> int:
    """Frames per clip after the pool: ``ceil(T / 2)`` (= ``T // 2`` for the usual even T)."""
    if num_segments < 1:
        raise ValueError(f"num_segments must be >= 1, got {num_segments}")
    return (num_segments - 1) // 2 + 1


def temporal_pool(x: Tensor, num_segments: int) -> Tensor:
    """Max-pool frames over time inside each clip.

    Args:
        x: ``(N*T, C, H, W)`` frames of N clips, video-major and time-minor.
        num_segments: T.

    Returns:
        ``(N*T', C, H, W)`` with ``T' = pooled_segments(T)``.
    """
    nt, c, h, w = x.shape
    if not torch.jit.is_tracing() and nt % num_segments:
        raise ValueError(f"batch {nt} is not a multiple of num_segments={num_segments}")
    clips = x.reshape(nt // num_segments, num_segments, c, h, w).transpose(1, 2)  # (N, C, T, H, W)
    pooled = F.max_pool3d(
        clips, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0)
    )  # (N, C, T', H, W)
    return pooled.transpose(1, 2).reshape(-1, c, h, w)  # (N*T', C, H, W)


class TemporalPool(nn.Module):
    """Parameterless temporal pool applied to the input of another module (via a pre-hook).

    Attaching it as a hook (instead of wrapping the stage, as the original code
    does with ``.net``) keeps the stage's parameter names, so ImageNet and
    converted checkpoints load with no renaming.
    """

    def __init__(self, num_segments: int) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.out_segments = pooled_segments(num_segments)

    def forward(self, x: Tensor) -> Tensor:
        return temporal_pool(x, self.num_segments)

    def attach(self, module: nn.Module) -> None:
        """Pool the first positional input of ``module`` on every call (a bound method: deepcopy-safe)."""
        module.register_forward_pre_hook(self._pre_hook)

    def _pre_hook(self, _module: nn.Module, args: tuple) -> tuple:
        return (self(args[0]),) + tuple(args[1:])

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, out_segments={self.out_segments}"
