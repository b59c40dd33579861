"""TSM classification head: global pool, dropout, linear, average consensus over segments and views.

Consensus follows the original TSM code: the T per-frame **logits** of a clip
are averaged (``SegmentConsensus('avg')`` before any softmax). Over the V test
views the head offers both conventions:

* ``average_clips='score'``: average the views' logits, then softmax — what the
  TSM release's ``test_models.py`` does;
* ``average_clips='prob'``: softmax each view, then average the probabilities —
  MMAction2's default for its TSM configs.

The two give different scores (and sometimes a different top-1) on multi-view
testing; with one view they agree. Parameter names follow MMAction2
(``fc_cls``), so MMAction2 checkpoints map one-to-one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

AVERAGE_CLIPS = ("score", "prob")


@MODELS.register_module()
class TSMHead(BaseModule):
    """Args:
    num_classes: number of classes K.
    in_channels: channels of the backbone's last feature map (2048 for R50, 1280 for MobileNetV2).
    num_segments: frames per clip T, needed only when the backbone does not
        say (a plain 2D backbone for a TSN twin); a TSM backbone's own
        ``num_segments`` wins and must agree if both are given.
    dropout_ratio: dropout before the linear layer (TSM: 0.5 for K400/Something; 0.8 in some recipes).
    init_std: std of the normal init of ``fc_cls.weight`` (TSM: 0.001); bias starts at 0.
    average_clips: ``'score'`` or ``'prob'`` (module docstring).
    label_smooth_eps: label smoothing of the cross entropy (0 = off).
    init_cfg: mmengine init config; the default is the normal init above.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        num_segments: int | None = None,
        dropout_ratio: float = 0.5,
        init_std: float = 0.001,
        average_clips: str = "score",
        label_smooth_eps: float = 0.0,
        init_cfg: dict | list[dict] | None = None,
    ) -> None:
        if average_clips not in AVERAGE_CLIPS:
            raise ValueError(f"average_clips must be one of {AVERAGE_CLIPS}, got {average_clips!r}")
        if not 0.0 <= label_smooth_eps < 1.0:
            raise ValueError(f"label_smooth_eps must be in [0, 1), got {label_smooth_eps}")
        if init_cfg is None:
            init_cfg = dict(type="Normal", layer="Linear", std=init_std, bias=0.0)
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.average_clips = average_clips
        self.label_smooth_eps = label_smooth_eps
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor, num_clips: int) -> Tensor:
        """Per-clip logits.

        Args:
            x: ``(num_clips*T', C, h, w)`` last feature map, clip-major and time-minor
                (T' = T, or the pooled length after a temporal pool).
            num_clips: N*V, the number of clips (videos times views).

        Returns:
            ``(num_clips, K)`` logits averaged over the T' segments.
        """
        if not torch.jit.is_tracing() and x.shape[0] % num_clips:
            raise ValueError(f"{x.shape[0]} feature maps are not a multiple of {num_clips} clips")
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # (N*V*T', C)
        logits = self.fc_cls(self.dropout(x))  # (N*V*T', K)
        return logits.reshape(num_clips, -1, self.num_classes).mean(dim=1)  # (N*V, K): consensus on logits

    def frame_logits(self, x: Tensor) -> Tensor:
        """Per-frame logits, no consensus: ``(B, C, h, w)`` one frame's feature map -> ``(B, K)``.

        What :meth:`forward` computes for each frame before averaging over the segments, so
        an online recognizer's per-frame scores equal the offline clip model's per-frame ones.
        """
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)  # (B, C)
        return self.fc_cls(self.dropout(x))  # (B, K)

    def average_views(self, clip_logits: Tensor, num_views: int) -> Tensor:
        """``(N*V, K)`` clip logits -> ``(N, K)`` class scores.

        Mean logits for ``'score'``, mean probabilities for ``'prob'``.
        """
        views = clip_logits.reshape(-1, num_views, self.num_classes)  # (N, V, K)
        if self.average_clips == "prob":
            return views.softmax(dim=-1).mean(dim=1)
        return views.mean(dim=1)

    def scores_to_probs(self, scores: Tensor) -> Tensor:
        """:meth:`average_views` output -> class probabilities (already probabilities for ``'prob'``)."""
        return scores if self.average_clips == "prob" else scores.softmax(dim=-1)

    def loss(self, clip_logits: Tensor, num_views: int, labels: Tensor) -> dict[str, Tensor]:
        """Cross entropy (optionally label-smoothed) on the view-averaged logits, plus top-1 accuracy.

        Training normally uses one view; with several, their logits are
        averaged first (a mean of probabilities has no clean log-likelihood).
        """
        logits = clip_logits.reshape(-1, num_views, self.num_classes).mean(dim=1)  # (N, K)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smooth_eps)
        with torch.no_grad():
            top1 = (logits.argmax(dim=1) == labels).float().mean()
        return dict(loss_cls=loss, top1_acc=top1)
