"""The export-friendly box decoder (tsmdet.deploy.heads.DeltaCoder) against mmdet's own ``delta2bbox``.

Ours is kept (mmdet's clamps slices in place, which tracers export wrongly), so it must give
mmdet's boxes for every setting the deploy heads use: means/stds, the width/height ratio
clip, clipping to the image or not, one box per prior or one per class.
"""
from __future__ import annotations

import pytest
import torch
from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox

from tsmdet.deploy.heads import DeltaCoder

IMAGE_HW = (48, 64)  # (H, W): not square, so a swapped axis in the clip shows


def _priors(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 4) x1, y1, x2, y2 boxes of 2-40 px, some reaching past the image border."""
    xy = torch.rand(n, 2, generator=generator) * torch.tensor([80.0, 60.0]) - 8.0
    wh = torch.rand(n, 2, generator=generator) * 38.0 + 2.0
    return torch.cat([xy, xy + wh], dim=1)


def _deltas(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Deltas up to +-6: log-sizes beyond |log(16/1000)| = 4.1 exercise the ratio clip."""
    return (torch.rand(*shape, generator=generator) - 0.5) * 12.0


SETTINGS = [
    # (means, stds, clip_border, wh_ratio_clip)
    ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), True, 16 / 1000),
    ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), False, 16 / 1000),
    ((0.0, 0.0, 0.0, 0.0), (0.1, 0.1, 0.2, 0.2), True, 16 / 1000),  # Faster R-CNN's RoI head
    ((0.05, -0.02, 0.1, -0.1), (0.5, 0.7, 0.3, 0.4), False, 16 / 1000),
    ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), True, 0.1),  # tighter ratio clip
    ((0.1, 0.1, -0.2, 0.3), (1.0, 1.0, 1.0, 1.0), False, 0.5),
]


@pytest.mark.parametrize("means, stds, clip_border, wh_ratio_clip", SETTINGS)
def test_matches_mmdet_delta2bbox_per_prior(means, stds, clip_border, wh_ratio_clip) -> None:
    g = torch.Generator().manual_seed(0)
    priors, deltas = _priors(500, g), _deltas((500, 4), g)
    coder = DeltaCoder(means, stds, clip_border, wh_ratio_clip)
    ours = coder.decode(priors, deltas, IMAGE_HW)  # (N, 4)
    ref = delta2bbox(priors, deltas, means, stds, max_shape=IMAGE_HW, wh_ratio_clip=wh_ratio_clip,
                     clip_border=clip_border)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-5)
    clipped = (ref[:, 0::2] == 0).any() or (ref[:, 0::2] == IMAGE_HW[1]).any()
    assert bool(clipped) == clip_border  # the inputs do reach past the border


@pytest.mark.parametrize("means, stds, clip_border, wh_ratio_clip", SETTINGS[:4])
def test_matches_mmdet_delta2bbox_batched_and_per_class(means, stds, clip_border, wh_ratio_clip) -> None:
    """The deploy heads decode (B, N, 4) anchors and (B, P, 1, 4) proposals x (B, P, C, 4) deltas."""
    g = torch.Generator().manual_seed(1)
    batch, n, classes = 2, 60, 5
    coder = DeltaCoder(means, stds, clip_border, wh_ratio_clip)
    priors = _priors(batch * n, g).reshape(batch, n, 4)
    deltas = _deltas((batch, n, 4), g)
    ref = delta2bbox(priors.reshape(-1, 4), deltas.reshape(-1, 4), means, stds, max_shape=IMAGE_HW,
                     wh_ratio_clip=wh_ratio_clip, clip_border=clip_border).reshape(batch, n, 4)
    torch.testing.assert_close(coder.decode(priors, deltas, IMAGE_HW), ref, rtol=1e-6, atol=1e-5)

    class_deltas = _deltas((batch, n, classes, 4), g)
    ours = coder.decode(priors.unsqueeze(2), class_deltas, IMAGE_HW)  # (B, N, C, 4)
    # mmdet's class-specific layout: (N, C * 4) deltas against (N, 4) rois
    ref = delta2bbox(priors.reshape(-1, 4), class_deltas.reshape(-1, classes * 4), means, stds,
                     max_shape=IMAGE_HW, wh_ratio_clip=wh_ratio_clip, clip_border=clip_border)
    torch.testing.assert_close(ours, ref.reshape(batch, n, classes, 4), rtol=1e-6, atol=1e-5)


def test_unclipped_mmdet_without_max_shape_is_unclipped_ours() -> None:
    """mmdet clips only with ``max_shape``; ours with ``clip_border=False`` ignores the image size."""
    g = torch.Generator().manual_seed(2)
    priors, deltas = _priors(200, g), _deltas((200, 4), g)
    ours = DeltaCoder(clip_border=False).decode(priors, deltas, IMAGE_HW)
    ref = delta2bbox(priors, deltas, max_shape=None, clip_border=True)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-5)
    assert (ref[:, 2] > IMAGE_HW[1]).any() and (ref[:, 0] < 0).any()
