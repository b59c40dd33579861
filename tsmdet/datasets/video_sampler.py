"""A distributed sampler that gives each rank whole videos, in order."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Optional, Protocol

import numpy as np
from mmengine.dist import get_dist_info
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


class VideoRangesDataset(Protocol):
    """What :class:`VideoSampler` needs from a dataset."""

    def __len__(self) -> int:
        ...

    def video_sample_ranges(self) -> list[tuple[int, int]]:
        """Half-open ``[start, stop)`` sample-index ranges, one per video, in sample order."""
        ...


def partition_videos(video_sizes: Sequence[int], world_size: int) -> list[int]:
    """Split videos into ``world_size`` contiguous groups of about equal frame count.

    Returns ``world_size + 1`` video boundaries ``b``: rank ``r`` gets videos
    ``b[r]:b[r+1]``. Cut ``r`` is placed at the video boundary whose cumulative frame
    count is nearest to ``r / world_size`` of the total, so every rank is within one
    video of its fair share. A rank may get no video when there are fewer videos
    than ranks.
    """
    cumulative = np.concatenate([[0], np.cumsum(np.asarray(video_sizes, dtype=np.int64))])
    total = int(cumulative[-1])
    bounds = [0]
    for rank in range(1, world_size):
        target = total * rank / world_size
        cut = int(np.searchsorted(cumulative, target))  # first boundary >= target; <= len(sizes)
        if cut > 0 and target - cumulative[cut - 1] <= cumulative[cut] - target:
            cut -= 1
        bounds.append(max(bounds[-1], cut))
    bounds.append(len(video_sizes))
    return bounds


@DATA_SAMPLERS.register_module()
class VideoSampler(Sampler[int]):
    """Test/val sampler: whole videos per rank, frames in video order.

    An online detector carries temporal state from one frame to the next, so each
    rank must see every frame of its videos, consecutively and in order. mmengine's
    ``DefaultSampler(shuffle=False)`` deals indices ``rank::world_size`` (and pads to
    equal length by repeating), which interleaves the frames of every video across
    ranks and would feed an online model frames t, t+W, t+2W, ... — wrong state and
    wrong resets. This sampler assigns contiguous runs of whole videos to ranks,
    balanced by frame count, and yields them in order; with one rank it is the
    identity order. Ranks may get different numbers of samples (no padding, so no
    frame is evaluated twice); results gathered by mmengine's ``collect_results``
    are then not in dataset order, so metrics must key on image/video ids, never
    on result position.

    Args:
        dataset: A dataset with ``video_sample_ranges()``, e.g. ``VIDClipDataset``.
        seed: Accepted because mmengine's runner passes it to every sampler; unused,
            the order is deterministic.
    """

    def __init__(self, dataset: VideoRangesDataset, seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'video_sample_ranges'):
            raise TypeError(f'{type(dataset).__name__} has no video_sample_ranges(); '
                            'VideoSampler needs to know where videos start and end.')
        rank, world_size = get_dist_info()
        ranges = dataset.video_sample_ranges()
        bounds = partition_videos([stop - start for start, stop in ranges], world_size)
        mine = ranges[bounds[rank]:bounds[rank + 1]]
        self.indices: list[int] = [i for start, stop in mine for i in range(start, stop)]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
