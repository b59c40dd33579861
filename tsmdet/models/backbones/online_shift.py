"""What every TSM backbone shares: shift placement, the online state contract.

A TSM backbone is an ordinary mmdet backbone plus parameterless
:class:`~tsmdet.ops.TemporalShift` modules attached (as pre-hooks) to some of
its blocks. ``forward(x)`` is the offline clip mode; ``forward(x, state)`` runs
one frame per stream and returns ``(features, new_state)``; ``init_state``
gives the zero state. The state order is the order of :attr:`shifts`, i.e. the
network order of the shifted blocks, and never changes for a given config.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from tsmdet.ops.temporal_shift import TemporalShift, fold_size

SHIFT_PLACES = ("blockres", "block")
State = tuple[Tensor, ...]


class OnlineShiftMixin:
    """Mixed into an mmdet backbone class *before* it (``class X(OnlineShiftMixin, ResNet)``)."""

    shifts: nn.ModuleList
    _state_shapes: dict[tuple[int, int], tuple[tuple[int, ...], ...]]
    _stream: list[State] | None = None

    def _install_shifts(self, targets: Sequence[nn.Module], num_segments: int, shift_div: int, direction: str) -> None:
        """Attach one shift to the input of each target module, in network order."""
        self.shifts = nn.ModuleList()
        for target in targets:
            shift = TemporalShift(num_segments, shift_div, direction)
            shift.attach(target)
            self.shifts.append(shift)
        self._state_shapes = {}
        self.shift_div = shift_div

    def forward(self, x: Tensor, state: Sequence[Tensor] | None = None):  # type: ignore[override]
        """Offline: ``x`` is ``(N*T, 3, H, W)`` and the features are returned.

        Online: ``x`` is ``(B, 3, H, W)``, one frame of B streams, ``state`` is
        the tuple from :meth:`init_state` or the previous call; returns
        ``(features, new_state)``.
        """
        if state is None and self._stream is not None:  # inside streaming(): online, state kept here
            feats, self._stream[0] = self.forward(x, self._stream[0])
            return feats
        if state is None:
            return super().forward(x)  # type: ignore[misc]
        if len(state) != len(self.shifts):
            raise ValueError(f"expected {len(self.shifts)} state tensors, got {len(state)}")
        for shift, cache in zip(self.shifts, state):
            shift.cache_in = cache
        try:
            feats = super().forward(x)  # type: ignore[misc]
            new_state = tuple(shift.cache_out for shift in self.shifts)
        finally:
            for shift in self.shifts:
                shift.cache_in = shift.cache_out = None
        if any(s is None for s in new_state):
            raise RuntimeError("a shifted block was not reached in online mode; check out_indices")
        return feats, new_state

    def train(self, mode: bool = True):
        """mmdet's backbones return None from ``train``; return self so ``net.eval()`` chains."""
        super().train(mode)  # type: ignore[misc]
        return self

    @contextmanager
    def streaming(self, state: State) -> Iterator[list[State]]:
        """Make a plain ``forward(x)`` run online with ``state`` inside the block.

        mmdet detectors call ``self.backbone(x)``; this lets any of them run one
        frame online without a detector-specific code path. The yielded list's
        only item is the current state, updated by every forward.
        """
        self._stream = [state]
        try:
            yield self._stream
        finally:
            self._stream = None

    def state_shapes(self, height: int, width: int) -> tuple[tuple[int, ...], ...]:
        """Per-stream state shapes ``(1, fold, h, w)`` for an input of ``height x width``.

        Found by one shape-recording pass (cached per input size) instead of
        conv arithmetic, so any stem, stride or plugin layout is handled.
        """
        key = (height, width)
        if key not in self._state_shapes:
            param = next(self.parameters())  # type: ignore[attr-defined]
            was_training = self.training  # type: ignore[attr-defined]
            for shift in self.shifts:
                shift.record_only = True
            try:
                self.eval()  # type: ignore[attr-defined]
                with torch.no_grad():
                    super().forward(torch.zeros(1, 3, height, width, dtype=param.dtype, device=param.device))  # type: ignore[misc]
            finally:
                for shift in self.shifts:
                    shift.record_only = False
                self.train(was_training)  # type: ignore[attr-defined]
            shapes = []
            for shift in self.shifts:
                _, c, h, w = shift.recorded_shape
                shapes.append((1, fold_size(c, self.shift_div), h, w))
            self._state_shapes[key] = tuple(shapes)
        return self._state_shapes[key]

    def init_state(self, batch_size: int, height: int, width: int) -> State:
        """Zero caches, one per shifted block, for ``batch_size`` streams."""
        param = next(self.parameters())  # type: ignore[attr-defined]
        return tuple(
            torch.zeros(batch_size, *shape[1:], dtype=param.dtype, device=param.device)
            for shape in self.state_shapes(height, width)
        )


def check_shift_args(shift_place: str, shift_every: int) -> None:
    if shift_place not in SHIFT_PLACES:
        raise ValueError(f"shift_place must be one of {SHIFT_PLACES}, got {shift_place!r}")
    if shift_every < 1:
        raise ValueError(f"shift_every must be >= 1, got {shift_every}")
