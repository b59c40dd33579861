"""MobileNetV2 with temporal shift in its residual blocks, registered in MMDetection's MODELS."""
from __future__ import annotations

from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS
from torch import nn

from .online_shift import OnlineShiftMixin, check_shift_args


@MODELS.register_module()
class TSMMobileNetV2(OnlineShiftMixin, MobileNetV2):
    """mmdet ``MobileNetV2`` plus temporal shift in the inverted residual blocks
    that have a residual connection (as in the TSM online demo).

    Args:
        num_segments, shift_div, shift_direction: as in :class:`TSMResNet`.
        shift_place: ``'blockres'`` shifts the input of the residual branch (the
            expand conv, or the depthwise conv where there is none);
            ``'block'`` shifts the whole block input.
        num_shift_blocks: shift only the last K residual blocks (None = all of
            them; the online gesture demo shifts all ten; fewer means a smaller state).
        **kwargs: mmdet ``MobileNetV2`` arguments (``widen_factor``,
            ``out_indices``, ``frozen_stages``, ``norm_eval``, ``init_cfg``, ...).
    """

    def __init__(
        self,
        num_segments: int = 8,
        shift_div: int = 8,
        shift_place: str = "blockres",
        shift_direction: str = "bidirectional",
        num_shift_blocks: int | None = None,
        **kwargs,
    ) -> None:
        check_shift_args(shift_place, 1)
        super().__init__(**kwargs)
        residual_blocks = [
            block
            for layer_name in self.layers
            for block in getattr(self, layer_name).modules()
            if getattr(block, "with_res_shortcut", False)
        ]
        if num_shift_blocks is not None:
            if not 0 < num_shift_blocks <= len(residual_blocks):
                raise ValueError(f"num_shift_blocks must be in 1..{len(residual_blocks)}, got {num_shift_blocks}")
            residual_blocks = residual_blocks[-num_shift_blocks:]
        targets: list[nn.Module] = []
        for block in residual_blocks:
            if shift_place == "block":
                targets.append(block)
            else:
                targets.append(block.expand_conv if block.with_expand_conv else block.depthwise_conv)
        self._install_shifts(targets, num_segments, shift_div, shift_direction)
        self.num_segments = num_segments
        self.shift_place = shift_place
        self.shift_direction = shift_direction
