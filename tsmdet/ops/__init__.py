"""Pure-torch operators (no OpenMMLab import)."""
from .temporal_shift import SHIFT_DIRECTIONS, OnlineCall, TemporalShift, online_call, online_shift, temporal_shift

__all__ = ["SHIFT_DIRECTIONS", "OnlineCall", "TemporalShift", "online_call", "online_shift", "temporal_shift"]
