"""ResNet with temporal shift, registered in MMDetection's MODELS."""
from __future__ import annotations

from collections.abc import Sequence

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch import Tensor, nn

from tsmdet.ops.temporal_pool import TemporalPool

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
        temporal_pool: max-pool over time (kernel 3, stride 2) before ``layer2``,
            as the original TSM ``--temporal_pool``: later stages (and the
            features) see ``ceil(T/2)`` frames (:attr:`out_num_segments`). Offline
            only: ``init_state`` raises.
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
        temporal_pool: bool = False,
        **kwargs,
    ) -> None:
        check_shift_args(shift_place, shift_every)
        super().__init__(depth=depth, **kwargs)
        targets: list[nn.Module] = []
        target_stages: list[int] = []
        for stage, layer_name in enumerate(self.res_layers):
            if stage not in shift_stages:
                continue
            for i, block in enumerate(getattr(self, layer_name)):
                if i % shift_every == 0:  # shift_every=2 is the ResNet-101 recipe: i % 2 == 0 in every stage
                    targets.append(block.conv1 if shift_place == "blockres" else block)
                    target_stages.append(stage)
        self._install_shifts(targets, num_segments, shift_div, shift_direction)
        self.temporal_pool = temporal_pool
        self.out_num_segments = num_segments
        if temporal_pool:
            if len(self.res_layers) < 2:
                raise ValueError("temporal_pool needs at least two stages (it pools before layer2)")
            self.tpool = TemporalPool(num_segments)
            self.tpool.attach(getattr(self, self.res_layers[1]))
            self.out_num_segments = self.tpool.out_segments
            for shift, stage in zip(self.shifts, target_stages):
                if stage >= 1:  # blocks after the pool see the pooled clip
                    shift.num_segments = self.out_num_segments
        self.num_segments = num_segments
        self.shift_place = shift_place
        self.shift_direction = shift_direction

    def forward(self, x: Tensor, state: Sequence[Tensor] | None = None):  # type: ignore[override]
        if self.temporal_pool and state is not None:
            raise RuntimeError(_NO_ONLINE_POOL)
        return super().forward(x, state)

    def online(self, state):  # type: ignore[override]
        """As the mixin's; raises for a temporally pooled backbone (it has no online mode)."""
        if self.temporal_pool:
            raise RuntimeError(_NO_ONLINE_POOL)
        return super().online(state)

    def state_shapes(self, height: int, width: int):  # type: ignore[override]
        """As the mixin's; raises for a temporally pooled backbone (it has no online mode)."""
        if self.temporal_pool:
            raise RuntimeError(_NO_ONLINE_POOL)
        return super().state_shapes(height, width)

    def init_state(self, batch_size: int, height: int, width: int):  # type: ignore[override]
        if self.temporal_pool:
            raise RuntimeError(_NO_ONLINE_POOL)
        return super().init_state(batch_size, height, width)


_NO_ONLINE_POOL = (
    "TSMResNet(temporal_pool=True) cannot run online: its temporal pool mixes frames t-1, t, t+1; "
    "build the backbone with temporal_pool=False for streaming"
)
