"""Collate N clips of T frames into the flat N*T image batch a 2D detector consumes."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS


@FUNCTIONS.register_module()
def clip_collate(data_batch: Sequence[dict]) -> dict:
    """Flatten clips video-major, time-minor, then collate like ``pseudo_collate``.

    A clip sample is ``{'inputs': [T tensors], 'data_samples': [T DetDataSample]}``
    (see :class:`~tsmdet.datasets.vid_clip_dataset.VIDClipDataset`). The output is
    ``{'inputs': [N*T tensors], 'data_samples': [N*T DetDataSample]}`` ordered clip 0
    frames 0..T-1, clip 1 frames 0..T-1, ... — exactly what ``pseudo_collate`` gives
    for N*T single images, so mmdet's ``DetDataPreprocessor`` and every detector
    head work unchanged, while a TSM backbone can view the batch as ``(N, T, C, H, W)``.

    A single-frame sample (``inputs`` is a tensor, as in test mode) counts as a clip
    of one frame, so the same collate serves every split.

    Note: the dataloader ``batch_size`` counts clips; the detector sees N*T images.
    """
    frames: list[dict] = []
    for sample in data_batch:
        inputs, data_samples = sample['inputs'], sample['data_samples']
        if isinstance(inputs, torch.Tensor):
            frames.append(sample)
            continue
        if len(inputs) != len(data_samples):
            raise ValueError(f'A clip has {len(inputs)} inputs but {len(data_samples)} data samples.')
        frames.extend({'inputs': image, 'data_samples': data_sample}
                      for image, data_sample in zip(inputs, data_samples))
    return pseudo_collate(frames)
