"""Temporal shift (Lin, Gan, Han, "TSM", ICCV 2019): temporal modelling at zero FLOPs.

A fraction ``1/shift_div`` of the channels of a frame's feature map is replaced
by the same channels of a neighbouring frame. Two conventions:

* ``bidirectional`` (offline, the paper's default): channel fold 0
  (``[0, C//shift_div)``) comes from frame t+1, fold 1
  (``[C//shift_div, 2*C//shift_div)``) from frame t-1; zeros at the clip edges.
* ``past`` (online, uni-directional): fold 0 comes from frame t-1 only (zeros at
  t=0). Because it looks only backwards it can run one frame at a time with a
  cache holding the previous frame's fold 0: :func:`online_shift`. A network's
  caches travel through one :func:`online_call` per frame, never through module attributes.

Every result is built with slicing and ``torch.cat`` — never in-place slice
assignment, which ONNX/TorchScript tracers turn into wrong constants (the most
reported bug of the original TSM code). The online shift is one ``Split`` and one ``Concat``
(:func:`online_shift_as_split`) eagerly and in an ONNX export; :func:`shift_export_form` can
export it as two 0/1 1x1 convolutions instead (:func:`online_shift_as_convs`), same values.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

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
    if torch.onnx.is_in_onnx_export() and _EXPORT_FORM.get() == "convs":
        return online_shift_as_convs(x, cache)
    return online_shift_as_split(x, cache)


def online_shift_as_split(x: Tensor, cache: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`online_shift` as one ``Split`` of ``x`` (new cache, rest) and one ``Concat`` (cache, rest).

    The split sizes are Python ints (the channel counts are fixed per block), so an ONNX export
    holds two constant-shaped operators per shift, not a ``Shape``/``Gather``/``Unsqueeze`` chain
    computing the slice bounds at run time plus two ``Slice`` nodes (three of the five extra
    operators per block were bookkeeping). Eagerly the split gives views: one copy, the concat.
    """
    fold, channels = int(cache.shape[1]), int(x.shape[1])
    new_cache, rest = torch.split(x, [fold, channels - fold], dim=1)  # rest is empty for a 1-channel toy
    return torch.cat([cache, rest], dim=1), new_cache


SHIFT_EXPORT_FORMS = ("convs", "concat")
_EXPORT_FORM: ContextVar[str] = ContextVar("tsm_shift_export_form", default="concat")


@contextmanager
def shift_export_form(form: str) -> Iterator[None]:
    """Spell every online shift traced for ONNX inside this scope as ``form``: ``'concat'`` (the
    default, :func:`online_shift_as_split`: one Split + one Concat, as eager PyTorch runs it) or
    ``'convs'`` (:func:`online_shift_as_convs`).

    Why the choice exists: which spelling is faster is a property of the runtime, not of the
    network. On onnxruntime x86 the conv form keeps the blocked layout but adds two small convs
    and a Sub per shift; in paired runs on the project's 2-core VM the split + concat is as fast at
    1024x640 and faster at 160x128 and for MobileNetV2 (``scripts/shift_forms.py`` measures both on
    your machine; docs/deployment.md, "The shift on onnxruntime"). TensorRT plans a concat into
    its consumer's buffer and onnxruntime on ARM has no blocked layout: neither has a reason to
    pay the conv form's multiply-adds. Values are the same either way (tests/test_temporal_shift.py).
    """
    if form not in SHIFT_EXPORT_FORMS:
        raise ValueError(f"shift export form must be one of {SHIFT_EXPORT_FORMS}, got {form!r}")
    token = _EXPORT_FORM.set(form)
    try:
        yield
    finally:
        _EXPORT_FORM.reset(token)


def online_shift_as_convs(x: Tensor, cache: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`online_shift` written as two 1x1 convolutions with 0/1 weights (``shift_export_form('convs')``).

    Why it exists: onnxruntime on x86 runs convolutions in a blocked channel layout (NCHWc) and a
    channel ``Split``/``Concat`` of a blocked tensor is not expressible there, so the split +
    concat shift makes it convert the block input back to NCHW, copy it and convert it again.
    Here everything stays blocked (at the price of two small convs and a Sub per shift):

    * ``new_cache = pick(x)``: a 1x1 conv with ``fold`` output channels, identity on the first
      ``fold`` input channels (C x fold multiply-adds per pixel, no copy of x);
    * ``out = x + spread(cache - new_cache)``: a 1x1 conv from ``fold`` to C channels, identity
      into the first ``fold``, added to x (onnxruntime fuses the add into the conv).

    The weights are 0 and 1, so ``new_cache`` is exact and ``out`` differs from the concat by
    at most one rounding of ``x + (cache - x)`` on the fold channels (the other channels get
    ``x + 0``: exact). Together about 0.6 % of the R-18 Faster R-CNN's multiply-adds.
    """
    import numpy as np

    fold, channels = int(cache.shape[1]), int(x.shape[1])
    pick = torch.from_numpy(np.eye(fold, channels, dtype=np.float32)[:, :, None, None].copy())  # (fold, C, 1, 1)
    spread = torch.from_numpy(np.eye(channels, fold, dtype=np.float32)[:, :, None, None].copy())  # (C, fold, 1, 1)
    pick, spread = pick.to(dtype=x.dtype, device=x.device), spread.to(dtype=x.dtype, device=x.device)
    new_cache = nn.functional.conv2d(x, pick)  # (B, fold, H, W) == x[:, :fold]
    return x + nn.functional.conv2d(cache - new_cache, spread), new_cache


class OnlineCall:
    """The caches of ONE online forward of one backbone: passed in, filled, handed back.

    A :class:`TemporalShift` looks up its own cache here (keyed by the module's id) instead
    of in an attribute of its own, so a module never holds a stream's state between or
    during calls: two streams (or two threads) running the same network cannot see each
    other's caches. The active call lives in a :class:`~contextvars.ContextVar`, which is
    per thread (and per asyncio task): a scope opened in one thread is invisible to another.

    ``caches=None`` opens a shape probe instead: every shift records the shape of its input
    and passes it through unchanged (used to size the zero state without conv arithmetic).
    """

    def __init__(self, shifts: Sequence["TemporalShift"], caches: Sequence[Tensor] | None) -> None:
        if caches is not None and len(caches) != len(shifts):
            raise ValueError(f"expected {len(shifts)} state tensors, got {len(caches)}")
        self._order = [id(s) for s in shifts]
        self._members = frozenset(self._order)  # owns() runs once per shifted block per frame
        self._caches = dict(zip(self._order, caches)) if caches is not None else None
        self._outputs: dict[int, Tensor | tuple[int, ...]] = {}

    @property
    def probing(self) -> bool:
        return self._caches is None

    def owns(self, shift: "TemporalShift") -> bool:
        return id(shift) in self._members

    def step(self, shift: "TemporalShift", x: Tensor) -> Tensor:
        """The shifted input of ``shift`` for this call; records its new cache (or input shape)."""
        key = id(shift)
        if key in self._outputs:
            raise RuntimeError("a shifted block ran twice in one online call (one frame per call)")
        if self._caches is None:
            self._outputs[key] = tuple(x.shape)
            return x
        out, self._outputs[key] = online_shift(x, self._caches[key])
        return out

    def results(self) -> tuple:
        """New caches (or probed shapes) in the order of the backbone's shifts."""
        missing = [i for i, key in enumerate(self._order) if key not in self._outputs]
        if missing:
            raise RuntimeError(f"shifted blocks {missing} were not reached in online mode; check out_indices")
        return tuple(self._outputs[key] for key in self._order)


_ACTIVE_CALLS: ContextVar[tuple[OnlineCall, ...]] = ContextVar("tsmdet_online_calls", default=())


@contextmanager
def online_call(shifts: Sequence["TemporalShift"], caches: Sequence[Tensor] | None) -> Iterator[OnlineCall]:
    """Run ``shifts`` online with ``caches`` for the duration of the block (see :class:`OnlineCall`).

    Scopes nest (a model with two TSM backbones): each shift finds the innermost call that owns it.
    """
    call = OnlineCall(shifts, caches)
    token = _ACTIVE_CALLS.set(_ACTIVE_CALLS.get() + (call,))
    try:
        yield call
    finally:
        _ACTIVE_CALLS.reset(token)


class TemporalShift(nn.Module):
    """A parameterless shift applied to the input of another module (via a pre-hook).

    Offline it shifts whole clips of ``num_segments`` frames. Inside an :func:`online_call`
    that owns it, it does one frame of the past-only shift with the call's cache. The module
    holds configuration only, never state; attaching it as a pre-hook leaves the wrapped
    module's parameter names untouched (so plain ImageNet checkpoints load with no missing
    or unexpected key).
    """

    def __init__(self, num_segments: int, shift_div: int = 8, direction: str = "bidirectional") -> None:
        super().__init__()
        if direction not in SHIFT_DIRECTIONS:
            raise ValueError(f"shift_direction must be one of {SHIFT_DIRECTIONS}, got {direction!r}")
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.direction = direction

    def forward(self, x: Tensor) -> Tensor:
        for call in reversed(_ACTIVE_CALLS.get()):
            if call.owns(self):
                return call.step(self, x)
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
