"""ImageNet-VID style CocoVID json -> clips of T frames with one shared augmentation.

Importing this module registers ``VIDClipDataset`` (mmdet ``DATASETS``),
``clip_collate`` (mmengine ``FUNCTIONS``) and ``VideoSampler`` (mmengine
``DATA_SAMPLERS``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import torch
from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS
from mmengine.dataset.base_dataset import force_full_init
from mmengine.logging import MMLogger

from . import clip_collate, video_sampler  # noqa: F401  (register clip_collate and VideoSampler)
from .vid_classes import CLASS_NAMES

SAMPLING_MODES = ('contiguous', 'strided', 'random_strided')
# Geometry a pipeline records in the packed metainfo; it must agree across a clip.
# ``homography_matrix`` (resize @ crop @ flip in mmdet) is packed only when listed
# in ``PackDetInputs(meta_keys=...)``; it is the one that also pins the crop offset.
_GEOMETRY_KEYS = ('img_shape', 'scale_factor', 'flip', 'flip_direction', 'homography_matrix')


class _ClassOrderCOCO(COCO):
    """COCO api whose ``get_cat_ids(cat_names=...)`` follows the order of ``cat_names``.

    pycocotools returns category ids in the json's order, so mmdet's ``CocoDataset``
    numbers labels by category id whatever order ``metainfo['classes']`` gives; with
    ``classes=('car', 'bus')`` on VID (bus has the smaller id) label 0 would be bus
    while ``dataset_meta['classes'][0]`` says car. Here label ``i`` is
    ``classes[i]``, and a class missing from the json is an error, not a silent
    label shift.
    """

    def get_cat_ids(self, cat_names: Any = (), sup_names: Any = (), cat_ids: Any = ()) -> list[int]:
        ids = super().get_cat_ids(cat_names, sup_names, cat_ids)
        if isinstance(cat_names, str) or not cat_names or sup_names or cat_ids:
            return ids
        by_name = {cat['name']: cat['id'] for cat in self.load_cats(ids)}
        missing = [name for name in cat_names if name not in by_name]
        if missing:
            raise ValueError(f'Classes {missing} are not among the categories of the annotation file.')
        return [by_name[name] for name in cat_names]


@dataclass(frozen=True)
class _RandomState:
    """Snapshot of every RNG a data transform may draw from.

    mmdet 3.3 / mmcv 2.1 transforms draw from ``numpy.random`` (RandomResize,
    RandomChoiceResize, RandomFlip, RandomCrop, PhotoMetricDistortion, Expand,
    MinIoURandomCrop, RandomAffine, ...; mmdet's ``transforms.py`` imports
    ``numpy.random`` as ``random``) and, in a few places, from Python's ``random``
    (mmcv ``RandomGrayscale``, mmdet ``frame_sampling``). None uses torch's RNG, but
    custom transforms may, and snapshotting it costs little.
    """

    numpy: tuple
    python: tuple
    torch: torch.Tensor

    @classmethod
    def capture(cls) -> _RandomState:
        return cls(np.random.get_state(), random.getstate(), torch.get_rng_state())

    def restore(self) -> None:
        np.random.set_state(self.numpy)
        random.setstate(self.python)
        torch.set_rng_state(self.torch)


@DATASETS.register_module()
class VIDClipDataset(CocoDataset):
    """CocoVID json (ImageNet VID / DET subset) read as videos, served as clips or frames.

    Annotation loading, class restriction (``metainfo=dict(classes=...)``, labels
    0-based in that order) and ``filter_cfg`` are mmdet's ``CocoDataset``; this class
    adds ``video_id``, ``frame_id`` and per-instance ``instance_id`` to each frame's
    data info, orders frames by ``(video_id, frame_id)`` and defines what one sample
    is. Each image needs ``video_id`` and ``frame_id``; a still-image set (DET) is
    written as single-frame videos.

    Training (``test_mode=False``): one sample per key frame. Key frames are the
    frames that pass ``filter_cfg`` (e.g. ``filter_empty_gt``), thinned to
    ``frames_per_video`` evenly spaced ones per video if set (VID practice: 15).
    A sample is a clip of ``num_frames`` (T) frames of the key frame's video, in
    time order, starting at the key frame; clip frames need not pass ``filter_cfg``
    (frames without objects are valid negatives). Frame spacing:

    * ``'contiguous'``: stride 1;
    * ``'strided'``: fixed ``stride``;
    * ``'random_strided'``: stride drawn per clip uniformly from ``1..max_stride``.

    A clip that would run past the video end is shifted back to end on the last
    frame (so the key frame is no longer first); a stride too long for the video is
    reduced to the largest one that fits; a video shorter than T frames is padded by
    repeating its last frame (``is_padded=True``). A single-frame video (DET image)
    thus gives a static clip of T copies.

    The ordinary mmdet pipeline runs once per frame, but with the same random
    decisions for every frame of a clip: the RNG state is captured once per clip and
    restored before each frame (see :class:`_RandomState`). Frames of a video share
    one size, so equal draws give equal geometry (resize, flip, crop) and colour
    jitter. This breaks for transforms whose number of draws depends on the image
    content (``MinIoURandomCrop``) or that fetch other samples (``Mosaic``,
    ``MixUp``); a clip whose frames end with different ``img_shape``,
    ``scale_factor``, flip or ``homography_matrix`` raises. A frame the pipeline rejects (returns None, e.g.
    ``RandomCrop(allow_negative_crop=False)`` on a crop without objects) rejects the
    whole clip and mmengine re-draws another sample, so prefer
    ``allow_negative_crop=True`` for clips.

    Sample format: ``{'inputs': [T tensors], 'data_samples': [T DetDataSample]}``;
    batch it with ``clip_collate``.

    Test (``test_mode=True``): single frames, video by video, ``frame_id``
    ascending, in the ordinary ``{'inputs': tensor, 'data_samples': DetDataSample}``
    format. ``is_video_start`` is True exactly on the first sample of each video, so
    an online model resets its state there. With ``test_clip_len=T`` a sample is
    instead a clip of T consecutive frames; a video is cut into non-overlapping
    clips and its last clip is padded by repeating the last frame, marked
    ``is_padded=True`` (drop those predictions).

    Every frame's ``DetDataSample`` metainfo carries ``video_id``, ``frame_id``,
    ``video_length`` (frames in the video), ``is_video_start``, ``clip_index``
    (sample index of its clip), ``clip_frame_index`` (position 0..T-1 in the clip)
    and ``is_padded``; no ``PackDetInputs(meta_keys=...)`` change is needed.

    Args:
        num_frames: Clip length T in training; ignored in test mode.
        sampling: One of ``'contiguous'``, ``'strided'``, ``'random_strided'``.
        stride: Frame stride for ``'strided'``.
        max_stride: Largest stride for ``'random_strided'``.
        frames_per_video: Key frames kept per video in training (evenly spaced);
            None keeps all.
        test_clip_len: In test mode, serve clips of this many frames instead of
            single frames.
        data_prefix: As in ``CocoDataset`` (``img`` is joined to ``file_name``).
        *args, **kwargs: Passed to ``CocoDataset``.
    """

    METAINFO = {'classes': CLASS_NAMES}
    COCOAPI = _ClassOrderCOCO

    def __init__(self,
                 *args: Any,
                 num_frames: int = 1,
                 sampling: str = 'contiguous',
                 stride: int = 1,
                 max_stride: int = 1,
                 frames_per_video: Optional[int] = None,
                 test_clip_len: Optional[int] = None,
                 data_prefix: Optional[dict] = None,
                 **kwargs: Any) -> None:
        if sampling not in SAMPLING_MODES:
            raise ValueError(f'sampling must be one of {SAMPLING_MODES}, got {sampling!r}')
        for name, value in (('num_frames', num_frames), ('stride', stride), ('max_stride', max_stride),
                            ('frames_per_video', frames_per_video), ('test_clip_len', test_clip_len)):
            if value is not None and value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}')
        self.num_frames = num_frames
        self.sampling = sampling
        self.stride = stride
        self.max_stride = max_stride
        self.frames_per_video = frames_per_video
        self.test_clip_len = test_clip_len
        # Index arrays, filled by full_init (numpy: shared copy-on-read by workers).
        self._frame_video = np.zeros(0, dtype=np.int64)  # data_list position -> video index
        self._video_first = np.zeros(0, dtype=np.int64)  # video index -> first position
        self._video_length = np.zeros(0, dtype=np.int64)  # video index -> number of frames
        self._sample_anchor = np.zeros(0, dtype=np.int64)  # sample -> first/key frame position
        super().__init__(*args, data_prefix=data_prefix or dict(img=''), **kwargs)

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> list[dict]:
        """CocoDataset's frame list, sorted by ``(video_id, frame_id)``."""
        data_list = super().load_data_list()
        data_list.sort(key=lambda info: (info['video_id'], info['frame_id']))
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """CocoDataset's parsing plus ``video_id``, ``frame_id`` and ``instance_id``.

        CocoDataset drops invalid annotations (empty, out of image, other classes)
        without saying which; parsing one annotation at a time reuses its rules
        verbatim and keeps each kept instance paired with its ``instance_id``
        (-1 where the json has none).
        """
        img_info = raw_data_info['raw_img_info']
        if 'video_id' not in img_info or 'frame_id' not in img_info:
            raise KeyError(f"Image {img_info.get('file_name')!r} has no video_id/frame_id: "
                           'VIDClipDataset reads CocoVID json (still images as single-frame videos).')
        data_info = super().parse_data_info({'raw_img_info': img_info, 'raw_ann_info': []})
        for ann in raw_data_info['raw_ann_info']:
            kept = super().parse_data_info({'raw_img_info': img_info, 'raw_ann_info': [ann]})['instances']
            for instance in kept:
                instance['instance_id'] = ann.get('instance_id', -1)
                data_info['instances'].append(instance)
        data_info['video_id'] = img_info['video_id']
        data_info['frame_id'] = img_info['frame_id']
        return data_info

    def full_init(self) -> None:
        """Load frames, choose samples, then serialize the frame list.

        Unlike ``BaseDetDataset.full_init``, ``filter_cfg`` does not remove frames
        (clips need their neighbours) but only decides which frames may be key
        frames, and ``indices`` selects samples, not frames.
        """
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        if self.proposal_file is not None:
            self.load_proposals()
        # data_list is sorted by video, so np.unique's first indices are the video starts.
        video_ids = np.array([info['video_id'] for info in self.data_list], dtype=np.int64)
        _, first, length = np.unique(video_ids, return_index=True, return_counts=True)
        self._video_first, self._video_length = first.astype(np.int64), length.astype(np.int64)
        self._frame_video = np.repeat(np.arange(len(first), dtype=np.int64), self._video_length)
        self._sample_anchor = self._select_samples()
        if self._indices is not None:
            self._sample_anchor = self._sample_anchor[self._index_subset(self._indices)]
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {len(self._video_first)} videos, {len(video_ids)} frames, '
            f'{len(self._sample_anchor)} samples (test_mode={self.test_mode}).')

    def _select_samples(self) -> np.ndarray:
        """Anchor frame position of every sample, in video order."""
        if self.test_mode:
            if self.test_clip_len is None:
                return np.arange(len(self._frame_video), dtype=np.int64)
            return np.concatenate(
                [np.arange(first, first + length, self.test_clip_len)
                 for first, length in zip(self._video_first, self._video_length)]
                or [np.zeros(0)]).astype(np.int64)
        kept_ids = {info['img_id'] for info in super().filter_data()}
        anchors = []
        for first, length in zip(self._video_first, self._video_length):
            keys = [p for p in range(first, first + length) if self.data_list[p]['img_id'] in kept_ids]
            if self.frames_per_video is not None and len(keys) > self.frames_per_video:
                picks = np.linspace(0, len(keys) - 1, self.frames_per_video).round().astype(int)
                keys = [keys[i] for i in picks]
            anchors.extend(keys)
        return np.asarray(anchors, dtype=np.int64)

    def _index_subset(self, indices: Union[int, list[int]]) -> np.ndarray:
        """``BaseDataset`` semantics of ``indices`` (first n, last -n, or a list), on samples."""
        if isinstance(indices, int):
            all_samples = np.arange(len(self._sample_anchor))
            return all_samples[:indices] if indices >= 0 else all_samples[indices:]
        return np.asarray(indices, dtype=np.int64)

    # ------------------------------------------------------------------ indexing
    @force_full_init
    def __len__(self) -> int:
        return len(self._sample_anchor)

    def get_frame_info(self, position: int) -> dict:
        """Data info of the frame at ``position`` in the (video, frame)-sorted frame list."""
        return super().get_data_info(position)

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Data info of sample ``idx``'s key (first) frame; ``get_cat_ids`` builds on it."""
        info = self.get_frame_info(int(self._sample_anchor[idx]))
        info['sample_idx'] = idx
        return info

    @force_full_init
    def video_sample_ranges(self) -> list[tuple[int, int]]:
        """Half-open sample ranges of maximal runs of samples from one video (for VideoSampler)."""
        videos = self._frame_video[self._sample_anchor]
        cuts = np.flatnonzero(np.r_[True, videos[1:] != videos[:-1], True]) if len(videos) else [0]
        return [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:])]

    def clip_positions(self, idx: int) -> tuple[list[int], list[bool]]:
        """Frame positions of sample ``idx`` and whether each is padding (a repeat).

        Training clips draw ``'random_strided'`` strides from ``numpy.random``.
        """
        anchor = int(self._sample_anchor[idx])
        video = self._frame_video[anchor]
        first, length = int(self._video_first[video]), int(self._video_length[video])
        if self.test_mode:
            if self.test_clip_len is None:
                return [anchor], [False]
            offsets = [anchor - first + t for t in range(self.test_clip_len)]
        else:
            num_frames = self.num_frames
            longest_fit = max(1, (length - 1) // (num_frames - 1)) if num_frames > 1 else 1
            if self.sampling == 'contiguous':
                stride = 1
            elif self.sampling == 'strided':
                stride = min(self.stride, longest_fit)
            else:
                stride = int(np.random.randint(1, min(self.max_stride, longest_fit) + 1))
            span = (num_frames - 1) * stride + 1
            start = max(0, min(anchor - first, length - span))
            offsets = [start + t * stride for t in range(num_frames)]
        padded = [offset >= length for offset in offsets]
        return [first + min(offset, length - 1) for offset in offsets], padded

    def _is_video_start(self, idx: int, position: int, padded: bool) -> bool:
        """First frame of its video; in test mode, first sample of its video in sample order.

        The test-mode rule keeps resets right when ``indices`` drops a video's first
        frame: an online model must reset whenever the video changes.
        """
        if padded:
            return False
        if not self.test_mode:
            return position == self._video_first[self._frame_video[position]]
        if position != self._sample_anchor[idx]:
            return False
        video = self._frame_video[position]
        return idx == 0 or self._frame_video[self._sample_anchor[idx - 1]] != video

    # ------------------------------------------------------------------ pipeline
    def prepare_data(self, idx: int) -> Optional[dict]:
        """Run the pipeline on every frame of sample ``idx`` with one shared RNG draw.

        Returns None (mmengine then re-draws in training) if any frame is rejected.
        """
        positions, padded = self.clip_positions(idx)
        rng = _RandomState.capture()
        frames: list[dict] = []
        for t, (position, is_padded) in enumerate(zip(positions, padded)):
            if t > 0 and position == positions[t - 1]:
                # Same frame, same RNG state -> same output; skip decoding it again.
                result = {'inputs': frames[-1]['inputs'], 'data_samples': frames[-1]['data_samples'].clone()}
            else:
                rng.restore()
                info = self.get_frame_info(position)
                info['sample_idx'] = idx  # the clip's sample index, not the frame's position
                frame_ids = dict(video_id=info['video_id'], frame_id=info['frame_id'])
                result = self.pipeline(info)
                if result is None:
                    return None
            result['data_samples'].set_metainfo(dict(
                **frame_ids,
                video_length=int(self._video_length[self._frame_video[position]]),
                is_video_start=bool(self._is_video_start(idx, position, is_padded)),
                clip_index=idx,
                clip_frame_index=t,
                is_padded=is_padded))
            frames.append(result)
        _check_same_geometry(frames, idx)
        if self.test_mode and self.test_clip_len is None:
            return frames[0]
        return {'inputs': [frame['inputs'] for frame in frames],
                'data_samples': [frame['data_samples'] for frame in frames]}


def _check_same_geometry(frames: list[dict], idx: int) -> None:
    """Raise if the frames of one clip were augmented differently.

    Restoring the RNG state gives equal draws only if every frame consumes the
    same draws; a transform whose draws depend on image content would silently
    give a clip inconsistent geometry, which a temporal model cannot undo.
    """
    first = frames[0]['data_samples'].metainfo
    for frame in frames[1:]:
        meta = frame['data_samples'].metainfo
        for key in _GEOMETRY_KEYS:
            if key in first and not np.array_equal(first[key], meta.get(key)):
                raise RuntimeError(
                    f'Clip {idx}: frames got different {key} ({first[key]} vs {meta.get(key)}). A transform '
                    'in the pipeline draws random numbers depending on image content; it cannot be '
                    'shared across a clip.')
