"""Temporal shift (Lin, Gan, Han, "TSM", ICCV 2019): temporal modelling at zero FLOPs.

A fraction ``1/shift_div`` of the channels of a frame's feature map is replaced
by the same channels of a neighbouring frame. Two conventions:

* ``bidirectional`` (offline, the paper's default): channel fold 0
  (``[0, C//shift_div)``) comes from frame t+1, fold 1
  (``[C//shift_div, 2*C//shift_div)``) from frame t-1; zeros at the clip edges.
* ``past`` (online, uni-directional): fold 0 comes from frame t-1 only (zeros at
  t=0). Because it looks only backwards it can run one frame at a time with a
  cache holding the previous frame's fold 0: :func:`online_shift`.

Every result is built with slicing and ``torch.cat`` — never in-place slice
assignment, which ONNX/TorchScript tracers turn into wrong constants (the most
reported bug of the original TSM code).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

SHIFT_DIRECTIONS = ("bidirectional", "past")


def fold_size(channels: int, shift_div: int) -> int:
    """Channels moved per direction; at least one so tiny test models still shift."""
    if shift_div < 2:
        raise ValueError(f"shift_div must be >= 2, got {shift_div}")
    return max(1, channels // shift_div)


def temporal_shift(x: Tensor, num_segments: int, shift_div: int = 8, direction: str = "bidirectional") -> Tensor:
    """Shift channels along time inside clips.

    Args:
        x: ``(N*T, C, H, W)`` frames of N clips, video-major and time-minor.
        num_segments: T, frames per clip.
        shift_div: 1/shift_div of the channels move per direction.
        direction: ``'bidirectional'`` or ``'past'`` (see module docstring).
    """
    if direction not in SHIFT_DIRECTIONS:
        raise ValueError(f"direction must be one of {SHIFT_DIRECTIONS}, got {direction!r}")
    nt, c, h, w = x.shape
    if not torch.jit.is_tracing() and nt % num_segments:
        raise ValueError(f"batch {nt} is not a multiple of num_segments={num_segments}")
    fold = fold_size(c, shift_div)
    clips = x.reshape(nt // num_segments, num_segments, c, h, w)  # (N, T, C, H, W)
    zero = clips.new_zeros(clips.shape[0], 1, fold, h, w)
    if direction == "past":
        from_prev = torch.cat([zero, clips[:, :-1, :fold]], dim=1)
        out = torch.cat([from_prev, clips[:, :, fold:]], dim=2)
    else:
        from_next = torch.cat([clips[:, 1:, :fold], zero], dim=1)
        from_prev = torch.cat([zero, clips[:, :-1, fold : 2 * fold]], dim=1)
        out = torch.cat([from_next, from_prev, clips[:, :, 2 * fold :]], dim=2)
    return out.reshape(nt, c, h, w)


def online_shift(x: Tensor, cache: Tensor) -> tuple[Tensor, Tensor]:
    """One frame of the past-only shift with an explicit cache.

    Args:
        x: ``(B, C, H, W)`` the current frame of B independent streams.
        cache: ``(B, fold, H, W)`` fold 0 of the previous frame (zeros at a stream start).

    Returns:
        ``(out, new_cache)``: ``out`` is ``x`` with fold 0 replaced by ``cache``;
        ``new_cache`` is fold 0 of ``x``, to be fed with the next frame.
    """
    fold = cache.shape[1]
    return torch.cat([cache, x[:, fold:]], dim=1), x[:, :fold]


class TemporalShift(nn.Module):
    """A parameterless shift applied to the input of another module (via a pre-hook).

    Offline it shifts whole clips. Online, the owner backbone puts this frame's
    cache in :attr:`cache_in` before its forward and reads :attr:`cache_out`
    after it; that keeps the backbone's own ``forward(x, state)`` explicit while
    leaving the wrapped module's parameter names untouched (so plain ImageNet
    checkpoints load with no missing or unexpected key).
    """

    def __init__(self, num_segments: int, shift_div: int = 8, direction: str = "bidirectional") -> None:
        super().__init__()
        if direction not in SHIFT_DIRECTIONS:
            raise ValueError(f"shift_direction must be one of {SHIFT_DIRECTIONS}, got {direction!r}")
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.direction = direction
        self.cache_in: Tensor | None = None
        self.cache_out: Tensor | None = None
        self.recorded_shape: tuple[int, ...] | None = None
        self.record_only = False

    def forward(self, x: Tensor) -> Tensor:
        if self.record_only:  # shape probe for init_state: pass through unchanged
            self.recorded_shape = tuple(x.shape)
            return x
        if self.cache_in is not None:
            out, self.cache_out = online_shift(x, self.cache_in)
            self.cache_in = None  # consumed: a stale cache must never leak into the next call
            return out
        return temporal_shift(x, self.num_segments, self.shift_div, self.direction)

    def attach(self, module: nn.Module) -> None:
        """Shift the first positional input of ``module`` on every call.

        The hook is a bound method (not a lambda) so ``copy.deepcopy`` of the
        model (EMA, model soups) rebinds it to the copied shift, and it pickles.
        """
        module.register_forward_pre_hook(self._pre_hook)

    def _pre_hook(self, _module: nn.Module, args: tuple) -> tuple:
        return (self(args[0]),) + tuple(args[1:])

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, shift_div={self.shift_div}, direction={self.direction}"
