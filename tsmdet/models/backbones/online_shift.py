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

from tsmdet.ops.temporal_shift import OnlineCall, TemporalShift, fold_size, online_call

SHIFT_PLACES = ("blockres", "block")
State = tuple[Tensor, ...]


class OnlineShiftMixin:
    """Mixed into an mmdet backbone class *before* it (``class X(OnlineShiftMixin, ResNet)``).

    The backbone holds configuration and cached state *shapes* only; a stream's caches are
    a value the caller passes in and gets back (``forward(x, state)``), carried through the
    shifted blocks by one :func:`tsmdet.ops.online_call` per frame.
    """

    shifts: nn.ModuleList
    _state_shapes: dict[tuple[int, int], tuple[tuple[int, ...], ...]]

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
        if state is None:
            return super().forward(x)  # type: ignore[misc]
        with online_call(self.shifts, state) as call:
            feats = super().forward(x)  # type: ignore[misc]
        return feats, call.results()

    def train(self, mode: bool = True):
        """mmdet's backbones return None from ``train``; return self so ``net.eval()`` chains."""
        super().train(mode)  # type: ignore[misc]
        return self

    @contextmanager
    def online(self, state: State) -> Iterator[OnlineCall]:
        """Run every plain ``forward(x)`` inside the block as one online frame with ``state``.

        mmdet detectors call ``self.backbone(x)`` themselves; this lets any of them run one
        frame online without a detector-specific code path. Read the new state from the
        yielded call's ``results()`` after the block. The scope is per thread.
        """
        with online_call(self.shifts, state) as call:
            yield call

    def state_shapes(self, height: int, width: int) -> tuple[tuple[int, ...], ...]:
        """Per-stream state shapes ``(1, fold, h, w)`` for an input of ``height x width``.

        Found by one shape-recording pass (cached per input size) instead of
        conv arithmetic, so any stem, stride or plugin layout is handled.
        """
        key = (height, width)
        if key not in self._state_shapes:
            param = next(self.parameters())  # type: ignore[attr-defined]
            was_training = self.training  # type: ignore[attr-defined]
            try:
                self.eval()  # type: ignore[attr-defined]
                with torch.no_grad(), online_call(self.shifts, None) as probe:
                    super().forward(torch.zeros(1, 3, height, width, dtype=param.dtype, device=param.device))  # type: ignore[misc]
            finally:
                self.train(was_training)  # type: ignore[attr-defined]
            self._state_shapes[key] = tuple(
                (1, fold_size(c, self.shift_div), h, w) for _, c, h, w in probe.results()
            )
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
