"""2D recognizer (TSN/TSM): frames through a 2D backbone, consensus over segments and views.

The split follows MMAction2: this class only reshapes ``(N, V*T, 3, H, W)``
clips into a frame batch, calls the backbone and the head; the head owns
pooling, the linear layer and both averages; the data preprocessor owns
normalisation. Any piece is swapped in a config without touching the others
(a TSN twin is the same recognizer with a backbone that does not shift).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from torch import Tensor, nn

from tsmdet.structures import ActionDataSample

from .tsm_head import TSMHead


@MODELS.register_module()
class Recognizer2D(BaseModel):
    """Args:
    backbone: config of a 2D backbone returning a tuple of feature maps (the
        last one feeds the head); a TSM backbone's ``num_segments`` is T.
    cls_head: config of a :class:`TSMHead`.
    data_preprocessor: config of an ``ActionDataPreprocessor`` (default: ImageNet
        mean/std, BGR->RGB).
    train_cfg, test_cfg: accepted for OpenMMLab config compatibility; unused.
    init_cfg: mmengine init config (e.g. ``Pretrained`` for the whole recognizer).
    """

    def __init__(
        self,
        backbone: dict,
        cls_head: dict,
        data_preprocessor: dict | nn.Module | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | list[dict] | None = None,
    ) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type="ActionDataPreprocessor")
        if isinstance(data_preprocessor, dict):  # built here so no default scope is needed
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.cls_head: TSMHead = MODELS.build(cls_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        backbone_t = getattr(self.backbone, "num_segments", None)
        head_t = self.cls_head.num_segments
        if backbone_t is not None and head_t is not None and backbone_t != head_t:
            raise ValueError(
                f"backbone num_segments={backbone_t} and cls_head num_segments={head_t} disagree"
            )
        if backbone_t is None and head_t is None:
            raise ValueError(
                "set num_segments on the backbone (a TSM backbone) or on cls_head (a plain 2D backbone)"
            )
        self.num_segments: int = backbone_t if backbone_t is not None else head_t

    def clip_logits(self, inputs: Tensor) -> tuple[Tensor, int]:
        """``(N, V*T, 3, H, W)`` normalised clips -> (``(N*V, K)`` per-view logits, V)."""
        if inputs.ndim != 5:
            raise ValueError(f"expected inputs of shape (N, V*T, 3, H, W), got {tuple(inputs.shape)}")
        n, vt = inputs.shape[:2]
        if not torch.jit.is_tracing() and vt % self.num_segments:  # shapes are static in an export
            raise ValueError(f"{vt} frames per video are not a multiple of num_segments={self.num_segments}")
        num_views = vt // self.num_segments
        frames = inputs.reshape(n * vt, *inputs.shape[2:])  # (N*V*T, 3, H, W)
        feats = self.backbone(frames)
        last = feats[-1] if isinstance(feats, (tuple, list)) else feats  # (N*V*T', C, h, w)
        return self.cls_head(last, num_clips=n * num_views), num_views

    # ------------------------------------------------------------------ online (one frame at a time)
    def init_state(self, batch_size: int, height: int, width: int) -> tuple[Tensor, ...]:
        """Zero shift caches for ``batch_size`` streams of ``height x width`` frames (the backbone's
        contract).

        Only a past-only shift runs online: a bidirectional one needs the next frame. A backbone
        without shifts (a TSN twin) has an empty state.
        """
        backbone = self.backbone
        if not hasattr(backbone, "init_state"):
            return ()
        if len(backbone.shifts) and getattr(backbone, "shift_direction", "past") != "past":
            raise ValueError(
                "only shift_direction='past' recognizers run online; this one looks at the next frame "
                "(build the backbone with shift_direction='past')"
            )
        return backbone.init_state(batch_size, height, width)

    def step(self, frames: Tensor, state: Sequence[Tensor]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One frame of B streams: ``(B, 3, H, W)`` normalised frames + state -> (``(B, K)`` logits,
        new state).

        The logits are the head's for this frame alone (no segment consensus): the per-frame
        logits the offline past-shift clip model averages. Smoothing over frames is the
        caller's (``tsmdet.runtime.smoothing``).
        """
        if frames.ndim != 4:
            raise ValueError(f"expected frames of shape (B, 3, H, W), got {tuple(frames.shape)}")
        if hasattr(self.backbone, "init_state"):
            feats, new_state = self.backbone(frames, tuple(state))
        else:
            feats, new_state = self.backbone(frames), ()
        last = feats[-1] if isinstance(feats, (tuple, list)) else feats  # (B, C, h, w)
        return self.cls_head.frame_logits(last), tuple(new_state)

    def forward(
        self,
        inputs: Tensor,
        data_samples: Sequence[ActionDataSample] | None = None,
        mode: str = "tensor",
    ):
        """``'tensor'``: ``(N, K)`` class scores (view-averaged logits, or probabilities
        with ``average_clips='prob'``); ``'predict'``: the data samples with
        ``pred_score`` (probabilities) and ``pred_label``; ``'loss'``:
        ``dict(loss_cls, top1_acc)``."""
        if mode not in ("tensor", "predict", "loss"):
            raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")
        logits, num_views = self.clip_logits(inputs)
        if mode == "loss":
            if not data_samples:
                raise ValueError("mode='loss' needs data_samples with gt_label")
            labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
            return self.cls_head.loss(logits, num_views, labels)
        scores = self.cls_head.average_views(logits, num_views)  # (N, K)
        if mode == "tensor":
            return scores
        probs = self.cls_head.scores_to_probs(scores).detach()
        if data_samples is None:
            data_samples = [ActionDataSample() for _ in range(probs.shape[0])]
        if len(data_samples) != probs.shape[0]:
            raise ValueError(f"{len(data_samples)} data samples for a batch of {probs.shape[0]} videos")
        for sample, prob in zip(data_samples, probs):
            sample.set_pred_score(prob)
            sample.set_pred_label(prob.argmax().reshape(1))
        return list(data_samples)
