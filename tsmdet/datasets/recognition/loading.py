"""Pipeline steps that read a video: probe its length, pick frame indices, decode them.

Registered in ``mmdet.registry.TRANSFORMS`` (the configs' default scope). Names carry a
``Video``/``Segments`` prefix because mmdet already owns ``Resize``, ``CenterCrop``, ...

``results`` keys: the dataset sets ``filename`` (video file) or ``frame_dir`` +
``filename_tmpl`` + ``start_index`` (frame folder), ``total_frames`` (None for a video),
``label``, ``video_id``; ``tsmdet.apis.inference_recognizer`` may instead pass
``video_frames`` (a list of BGR uint8 frames already in memory).

An unreadable video never raises here: the sample is marked
``skipped`` (with ``skip_reason``) and filled with blank frames so the batch shape holds;
:class:`~tsmdet.datasets.recognition.dataset.VideoClassificationDataset` drops it in
training (another video is drawn, with a warning) and the accuracy metric leaves it out of
the numbers and lists it in the report.
"""
from __future__ import annotations

import logging

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet.registry import TRANSFORMS

from .decoding import DecodedFrames, UnreadableVideoError, read_folder_frames, read_video_frames, video_frame_count
from .sampling import sample_indices

logger = logging.getLogger(__name__)


def _skip(results: dict, reason: str) -> dict:
    if not results.get("skipped"):
        logger.warning("skipping %s: %s", results.get("filename") or results.get("frame_dir"), reason)
    results["skipped"] = True
    results["skip_reason"] = reason
    return results


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Set ``total_frames`` of a video file from its container (frame folders keep the list's count).

    Args:
        exact_count: decode the whole file to count frames (slow; for files whose header lies).
    """

    def __init__(self, exact_count: bool = False) -> None:
        self.exact_count = exact_count

    def transform(self, results: dict) -> dict:
        if results.get("video_frames") is not None:
            results["total_frames"] = len(results["video_frames"])
            return results if results["total_frames"] else _skip(results, "empty frame list")
        if results.get("frame_dir") is not None:
            if not results.get("total_frames"):
                return _skip(results, "frame folder without a frame count")
            return results
        try:
            results["total_frames"] = video_frame_count(results["filename"], exact=self.exact_count)
        except UnreadableVideoError as err:
            results["total_frames"] = 1
            _skip(results, str(err))
        return results


@TRANSFORMS.register_module()
class SampleSegments(BaseTransform):
    """Frame indices of the views: TSN segments or dense windows (:mod:`.sampling`).

    Args:
        num_segments: T, frames per view.
        mode: ``'segment'`` (TSN/TSM) or ``'dense'`` (Kinetics I3D-style window).
        num_clips: views along time (test: 1 or 10; train: 1).
        twice_sample: add the segment starts as a second test view (TSM ``--twice_sample``).
        test_mode: deterministic centres/starts instead of random offsets.
        window: dense window length (64 in the TSM recipe).

    Randomness comes from numpy's global generator, which mmengine seeds per worker
    (``randomness.seed`` in the config), so training runs repeat.
    """

    def __init__(self, num_segments: int = 8, mode: str = "segment", num_clips: int = 1,
                 twice_sample: bool = False, test_mode: bool = False, window: int = 64) -> None:
        self.num_segments = num_segments
        self.mode = mode
        self.num_clips = num_clips
        self.twice_sample = twice_sample
        self.test_mode = test_mode
        self.window = window

    def transform(self, results: dict) -> dict:
        if not results.get("total_frames"):
            raise ValueError(f"{results.get('filename')}: no frame count; put VideoInit before SampleSegments "
                             "for video files")
        rng = None if self.test_mode else np.random.default_rng(np.random.randint(0, 2**31 - 1))
        inds = sample_indices(int(results["total_frames"]), self.num_segments, self.mode, self.num_clips,
                              self.twice_sample, self.test_mode, rng, self.window)
        results["frame_inds"] = inds  # (views * T,) 0-based, view-major
        results["num_segments"] = self.num_segments
        results["num_clips"] = len(inds) // self.num_segments
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_segments={self.num_segments}, mode={self.mode!r}, "
                f"num_clips={self.num_clips}, twice_sample={self.twice_sample}, test_mode={self.test_mode})")


@TRANSFORMS.register_module()
class DecodeFrames(BaseTransform):
    """Read the frames at ``frame_inds`` (BGR uint8) from the video file or frame folder.

    Substituted frames are counted in ``num_bad_frames`` (names in ``bad_frames``), which
    the packing step carries into the sample's metainfo and the metric into the report.

    Args:
        blank_shape: (H, W) of the blank frames that stand in for a skipped video.
    """

    def __init__(self, blank_shape: tuple[int, int] = (256, 340)) -> None:
        self.blank_shape = tuple(blank_shape)

    def transform(self, results: dict) -> dict:
        inds = np.asarray(results["frame_inds"], dtype=np.int64)
        decoded = None
        if not results.get("skipped"):
            try:
                if results.get("video_frames") is not None:
                    decoded = DecodedFrames([results["video_frames"][i] for i in inds])
                elif results.get("frame_dir") is not None:
                    start = int(results.get("start_index", 1))
                    decoded = read_folder_frames(results["frame_dir"], (inds + start).tolist(),
                                                 results.get("filename_tmpl", "img_{:05d}.jpg"),
                                                 first=start, last=start + int(results["total_frames"]) - 1)
                else:
                    decoded = read_video_frames(results["filename"], inds.tolist())
            except UnreadableVideoError as err:
                _skip(results, str(err))
        if decoded is None:
            blank = np.zeros((*self.blank_shape, 3), dtype=np.uint8)
            results["imgs"] = [blank] * len(inds)
            results["bad_frames"] = []
        else:
            results["imgs"] = decoded.frames
            results["bad_frames"] = decoded.bad_frames
        results["num_bad_frames"] = len(results["bad_frames"])
        results["original_shape"] = results["imgs"][0].shape[:2]
        results["img_shape"] = results["imgs"][0].shape[:2]
        results.setdefault("skipped", False)
        return results
