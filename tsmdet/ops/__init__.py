"""Pure-torch operators (no OpenMMLab import)."""
from .temporal_shift import SHIFT_DIRECTIONS, TemporalShift, online_shift, temporal_shift

__all__ = ["SHIFT_DIRECTIONS", "TemporalShift", "online_shift", "temporal_shift"]
