"""Transition clips: training clips that start in another video, as an online stream's window does.

An online recognizer's smoothing window (``tsmdet.runtime.smoothing``) averages the last few
frames' logits, and each frame's logits also depend on the shift caches, which hold up to one
frame per shifted block of the past. Right after a gesture starts, or right after it ends,
that window and those caches still hold the previous scene. A clip model trained on whole
single-video clips never sees this; :class:`TransitionClipDataset` shows it: with probability
``prob`` a training clip's first ``k`` frames (``k`` uniform in ``1..max_prefix``) are replaced
by the last ``k`` frames of the clip of another, randomly drawn video (same pipeline, so same
sampling speed and input size), and the label stays the clip's own, the gesture the stream
is now in. Test mode (validation) is unchanged.
"""
from __future__ import annotations

import numpy as np

from mmdet.registry import DATASETS

from .dataset import VideoClassificationDataset


@DATASETS.register_module()
class TransitionClipDataset(VideoClassificationDataset):
    """:class:`VideoClassificationDataset` whose training clips may start in another video.

    Args:
        prob: chance that a training clip gets a prefix from another video.
        max_prefix: most frames replaced (at least 1, fewer than the clip's frames per view).
        (everything else: :class:`VideoClassificationDataset`)
    """

    def __init__(self, *args, prob: float = 0.5, max_prefix: int = 4, **kwargs) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        if max_prefix < 1:
            raise ValueError(f"max_prefix must be >= 1, got {max_prefix}")
        self.prob = prob
        self.max_prefix = max_prefix
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx: int):
        data = super().prepare_data(idx)
        if data is None or self.test_mode or np.random.random() >= self.prob:
            return data
        other = super().prepare_data(int(np.random.randint(len(self))))
        if other is None:  # an unreadable video drawn as the prefix: keep the plain clip
            return data
        inputs, prefix = data["inputs"], other["inputs"]  # (V*T, 3, H, W) uint8 each
        num_segments = int(data["data_samples"].metainfo.get("num_segments", inputs.shape[0]))
        if prefix.shape != inputs.shape or inputs.shape[0] != num_segments:
            return data  # different crop sizes or multi-view clips: nothing sensible to splice
        k = int(np.random.randint(1, min(self.max_prefix, num_segments - 1) + 1))
        inputs = inputs.clone()
        inputs[:k] = prefix[-k:]
        data["inputs"] = inputs
        data["data_samples"].set_metainfo({"transition_prefix": k,
                                           "transition_from": other["data_samples"].metainfo.get("video_id")})
        return data
