"""ResNet with temporal shift, registered in MMDetection's MODELS."""
from __future__ import annotations

from collections.abc import Sequence

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch import nn

from .online_shift import OnlineShiftMixin, check_shift_args


@MODELS.register_module()
class TSMResNet(OnlineShiftMixin, ResNet):
    """mmdet ``ResNet`` (same contract, same parameter names) plus temporal shift.

    Args:
        num_segments: frames per clip T in offline mode (the batch is ``N*T``).
        shift_div: 1/shift_div of the channels shift per direction.
        shift_place: ``'blockres'`` shifts the residual branch only (the input of
            each block's ``conv1``; the identity path keeps the current frame —
            the paper's choice), ``'block'`` shifts the whole block input.
        shift_direction: ``'bidirectional'`` (offline) or ``'past'`` (online capable).
        shift_every: shift every k-th block of each stage (1 = every block; 2 =
            every other block, as the paper does for ResNet-101).
        shift_stages: indices of the stages (0..3) that shift.
        **kwargs: mmdet ``ResNet`` arguments (``depth``, ``out_indices``,
            ``frozen_stages``, ``norm_eval``, ``init_cfg``, ...).
    """

    def __init__(
        self,
        depth: int,
        num_segments: int = 8,
        shift_div: int = 8,
        shift_place: str = "blockres",
        shift_direction: str = "bidirectional",
        shift_every: int = 1,
        shift_stages: Sequence[int] = (0, 1, 2, 3),
        **kwargs,
    ) -> None:
        check_shift_args(shift_place, shift_every)
        super().__init__(depth=depth, **kwargs)
        targets: list[nn.Module] = []
        for stage, layer_name in enumerate(self.res_layers):
            if stage not in shift_stages:
                continue
            for i, block in enumerate(getattr(self, layer_name)):
                if i % shift_every == 0:
                    targets.append(block.conv1 if shift_place == "blockres" else block)
        self._install_shifts(targets, num_segments, shift_div, shift_direction)
        self.num_segments = num_segments
        self.shift_place = shift_place
        self.shift_direction = shift_direction
