"""One video's annotation and prediction for recognition, as MMAction2's ``ActionDataSample``.

Datasets fill ``gt_label``; a recognizer's ``predict`` fills ``pred_score`` (class
probabilities after view averaging) and ``pred_label``; the accuracy metric reads
both. It lives apart from datasets and models so that neither imports the other.
Metainfo keys (set by the packing transform): ``video_id``, ``filename``,
``total_frames``, ``frame_inds``, ``num_segments``, ``num_views``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def _as_tensor(value: torch.Tensor | np.ndarray | Sequence[int | float] | int | float, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):  # a 0-dim label tensor becomes (1,), like a Python int
        return value.to(dtype).reshape(1) if value.ndim == 0 else value.to(dtype)
    return torch.as_tensor(np.asarray(value), dtype=dtype).reshape(-1) if np.ndim(value) else torch.tensor([value], dtype=dtype)


class ActionDataSample(BaseDataElement):
    """Fields: ``gt_label`` (int64, shape (1,)), ``pred_score`` (float32, (num_classes,)), ``pred_label`` (int64, (1,))."""

    def set_gt_label(self, value) -> "ActionDataSample":
        self.set_field(_as_tensor(value, torch.int64), "_gt_label", dtype=torch.Tensor)
        return self

    def set_pred_score(self, value) -> "ActionDataSample":
        score = _as_tensor(value, torch.float32)
        if score.ndim != 1:
            raise ValueError(f"pred_score must be 1-D (num_classes,), got shape {tuple(score.shape)}")
        self.set_field(score, "_pred_score", dtype=torch.Tensor)
        return self

    def set_pred_label(self, value) -> "ActionDataSample":
        self.set_field(_as_tensor(value, torch.int64), "_pred_label", dtype=torch.Tensor)
        return self

    @property
    def gt_label(self) -> torch.Tensor:
        return self._gt_label

    @gt_label.setter
    def gt_label(self, value) -> None:
        self.set_gt_label(value)

    @gt_label.deleter
    def gt_label(self) -> None:
        del self._gt_label

    @property
    def pred_score(self) -> torch.Tensor:
        return self._pred_score

    @pred_score.setter
    def pred_score(self, value) -> None:
        self.set_pred_score(value)

    @pred_score.deleter
    def pred_score(self) -> None:
        del self._pred_score

    @property
    def pred_label(self) -> torch.Tensor:
        return self._pred_label

    @pred_label.setter
    def pred_label(self, value) -> None:
        self.set_pred_label(value)

    @pred_label.deleter
    def pred_label(self) -> None:
        del self._pred_label
