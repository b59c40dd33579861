"""VIDClipDataset, clip_collate and VideoSampler on a tiny CocoVID set written to tmp_path."""
from __future__ import annotations

import json
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

pytest.importorskip('mmcv')

from mmdet.registry import DATASETS  # noqa: E402
from mmdet.utils import register_all_modules  # noqa: E402
from mmengine.registry import DATA_SAMPLERS, FUNCTIONS  # noqa: E402

import tsmdet.datasets.video_sampler as video_sampler_module  # noqa: E402
from tsmdet.datasets.vid_classes import CLASS_NAMES  # noqa: E402
from tsmdet.datasets.vid_clip_dataset import VIDClipDataset  # noqa: E402
from tsmdet.datasets.video_sampler import VideoSampler, partition_videos  # noqa: E402

register_all_modules(init_default_scope=True)


@pytest.fixture(autouse=True)
def _mmdet_scope():
    """Builders here resolve names in mmdet's scope; a Runner in another test file may have switched it."""
    from mmengine.registry import init_default_scope

    init_default_scope('mmdet')

WIDTH, HEIGHT = 64, 48
CAR, BUS, PANDA, ZEBRA, AIRPLANE = (CLASS_NAMES.index(n) + 1 for n in ('car', 'bus', 'giant_panda', 'zebra',
                                                                       'airplane'))
SYNTHETIC_CLASSES = ('car', 'bus', 'zebra', 'giant_panda')

# video name -> (video_id, number of frames, kind)
#   moving: a car rectangle moving right over a fixed noise background (frame 3 has no object)
#   static: every frame identical (a bus and a panda)
#   det:    one still image (zebra + an airplane, which class restriction drops)
VIDEOS = {'moving': (1, 10, 'moving'), 'static': (2, 4, 'static'), 'det': (3, 1, 'det')}
MOVING_EMPTY_FRAME = 3


def _box(frame_kind: str, frame_id: int) -> list[tuple[int, list[int]]]:
    """(category_id, [x, y, w, h]) objects of one frame."""
    if frame_kind == 'moving':
        return [] if frame_id == MOVING_EMPTY_FRAME else [(CAR, [6 + 3 * frame_id, 10, 16, 14])]
    if frame_kind == 'static':
        return [(BUS, [8, 8, 20, 12]), (PANDA, [36, 20, 18, 20])]
    return [(ZEBRA, [10, 12, 30, 24]), (AIRPLANE, [44, 4, 12, 8])]


@pytest.fixture(scope='module')
def vid_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frames as JPEGs plus a CocoVID json whose images are deliberately not in order."""
    root = tmp_path_factory.mktemp('vid')
    background = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    colours = {CAR: (0, 0, 255), BUS: (0, 255, 0), PANDA: (255, 255, 255), ZEBRA: (255, 0, 0),
               AIRPLANE: (0, 255, 255)}
    images, annotations = [], []
    for name, (video_id, length, kind) in VIDEOS.items():
        for frame_id in range(length):
            image = background.copy()
            for category_id, (x, y, w, h) in _box(kind, frame_id):
                image[y:y + h, x:x + w] = colours[category_id]
            file_name = f'{name}/{frame_id:06d}.JPEG'
            (root / name).mkdir(exist_ok=True)
            cv2.imwrite(str(root / file_name), image)
            image_id = len(images) + 1
            images.append(dict(id=image_id, file_name=file_name, video_id=video_id, frame_id=frame_id,
                               width=WIDTH, height=HEIGHT))
            for category_id, bbox in _box(kind, frame_id):
                annotations.append(dict(id=len(annotations) + 1, image_id=image_id, video_id=video_id,
                                        category_id=category_id, instance_id=category_id * 10 + video_id,
                                        bbox=bbox, area=bbox[2] * bbox[3], iscrowd=0, occluded=0,
                                        generated=0))
    random.Random(0).shuffle(images)
    categories = [dict(id=i + 1, name=n, encode_name=n) for i, n in enumerate(CLASS_NAMES)]
    videos = [dict(id=video_id, name=name) for name, (video_id, _, _) in VIDEOS.items()]
    (root / 'ann.json').write_text(json.dumps(dict(videos=videos, images=images, annotations=annotations,
                                                   categories=categories)))
    return root


TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(WIDTH, HEIGHT), ratio_range=(0.6, 1.4), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(40, 36), allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    # homography_matrix = resize @ crop @ flip: equal matrices mean equal geometry
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                          'flip', 'flip_direction', 'homography_matrix')),
]
TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(WIDTH, HEIGHT), keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]


def build(vid_root: Path, **kwargs) -> VIDClipDataset:
    cfg = dict(type='VIDClipDataset', ann_file=str(vid_root / 'ann.json'), data_root=str(vid_root),
               data_prefix=dict(img=str(vid_root)), metainfo=dict(classes=SYNTHETIC_CLASSES),
               pipeline=TRAIN_PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def frame_ids(sample: dict) -> list[tuple[int, int]]:
    return [(s.video_id, s.frame_id) for s in sample['data_samples']]


def sample_for(dataset: VIDClipDataset, video_id: int, frame_id: int) -> int:
    """Sample index whose key frame is (video_id, frame_id)."""
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        if (info['video_id'], info['frame_id']) == (video_id, frame_id):
            return idx
    raise LookupError((video_id, frame_id))


def test_contiguous_clips_are_in_order_and_shift_back_at_video_end(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=4)
    assert len(dataset) == 10 + 4 + 1  # no filter_cfg: every frame is a key frame
    assert frame_ids(dataset[sample_for(dataset, 1, 2)]) == [(1, 2), (1, 3), (1, 4), (1, 5)]
    assert frame_ids(dataset[sample_for(dataset, 1, 8)]) == [(1, 6), (1, 7), (1, 8), (1, 9)]
    clip = dataset[sample_for(dataset, 2, 0)]
    assert frame_ids(clip) == [(2, 0), (2, 1), (2, 2), (2, 3)]
    assert [s.is_video_start for s in clip['data_samples']] == [True, False, False, False]
    assert [s.clip_frame_index for s in clip['data_samples']] == [0, 1, 2, 3]
    assert all(s.video_length == 4 and not s.is_padded for s in clip['data_samples'])


def test_short_video_is_padded_with_its_last_frame(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=6)
    clip = dataset[sample_for(dataset, 2, 1)]
    assert frame_ids(clip) == [(2, 0), (2, 1), (2, 2), (2, 3), (2, 3), (2, 3)]
    assert [s.is_padded for s in clip['data_samples']] == [False] * 4 + [True] * 2
    assert torch.equal(clip['inputs'][3], clip['inputs'][5])


def test_strided_clips_respect_stride(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=3, sampling='strided', stride=3)
    assert frame_ids(dataset[sample_for(dataset, 1, 0)]) == [(1, 0), (1, 3), (1, 6)]
    assert frame_ids(dataset[sample_for(dataset, 1, 5)]) == [(1, 3), (1, 6), (1, 9)]
    # 4-frame video: stride 3 does not fit 3 frames, the largest that does (1) is used
    assert frame_ids(dataset[sample_for(dataset, 2, 0)]) == [(2, 0), (2, 1), (2, 2)]


def test_random_strided_clips_stay_in_window(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=3, sampling='random_strided', max_stride=4)
    np.random.seed(0)
    strides = set()
    for _ in range(40):
        idx = sample_for(dataset, 1, 1)
        positions, padded = dataset.clip_positions(idx)
        steps = set(np.diff(positions).tolist())
        assert len(steps) == 1 and not any(padded)
        strides |= steps
        assert positions[-1] <= 9
    assert strides == {1, 2, 3, 4}


def test_one_random_draw_per_clip(vid_root: Path) -> None:
    """Identical frames -> identical outputs; moving frames -> one geometry, equal box motion."""
    dataset = build(vid_root, num_frames=4)
    static, moving = sample_for(dataset, 2, 0), sample_for(dataset, 1, 4)
    flips, crops = set(), set()
    for seed in range(16):
        np.random.seed(seed)
        random.seed(seed)
        clip = dataset[static]
        for image, data_sample in zip(clip['inputs'][1:], clip['data_samples'][1:]):
            assert torch.equal(image, clip['inputs'][0])
            assert torch.equal(data_sample.gt_instances.bboxes.tensor,
                               clip['data_samples'][0].gt_instances.bboxes.tensor)
        flips.add(clip['data_samples'][0].flip)

        clip = dataset[moving]  # frames 4..7, the car moves +3 px per frame
        meta = clip['data_samples'][0]
        for data_sample in clip['data_samples'][1:]:
            np.testing.assert_array_equal(data_sample.homography_matrix, meta.homography_matrix)
        crops.add(tuple(np.round(meta.homography_matrix[:2, 2], 3)))
        # boxes not clipped by the crop move by the same scaled (and mirrored) step
        width = meta.img_shape[1]
        x1 = {t: s.gt_instances.bboxes.tensor[0, 0].item() for t, s in enumerate(clip['data_samples'])
              if len(s.gt_instances) and 0 < s.gt_instances.bboxes.tensor[0, 0] and
              s.gt_instances.bboxes.tensor[0, 2] < width}
        step = 3 * meta.scale_factor[0] * (-1 if meta.flip else 1)
        for t in x1:
            np.testing.assert_allclose(x1[t] - x1[min(x1)], step * (t - min(x1)), atol=1e-3)
    assert flips == {True, False}
    assert len(crops) > 1  # the geometry did vary between clips


def test_det_image_gives_static_clip(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=3)
    clip = dataset[sample_for(dataset, 3, 0)]
    assert frame_ids(clip) == [(3, 0)] * 3
    assert [s.is_padded for s in clip['data_samples']] == [False, True, True]
    assert all(torch.equal(image, clip['inputs'][0]) for image in clip['inputs'])
    assert len({id(s) for s in clip['data_samples']}) == 3


def test_class_restriction_orders_labels_like_metainfo(vid_root: Path) -> None:
    dataset = build(vid_root, pipeline=[])
    assert dataset.metainfo['classes'] == SYNTHETIC_CLASSES
    labels = {}
    for idx in range(len(dataset)):
        for instance in dataset.get_data_info(idx)['instances']:
            labels[instance['instance_id'] // 10] = instance['bbox_label']
    # airplane (not in classes) is dropped; label i is classes[i]
    assert labels == {CAR: 0, BUS: 1, ZEBRA: 2, PANDA: 3}
    with pytest.raises(ValueError, match='not among the categories'):
        build(vid_root, pipeline=[], metainfo=dict(classes=('car', 'unicorn')))


def test_filter_and_frames_per_video_choose_key_frames_only(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=4, filter_cfg=dict(filter_empty_gt=True), frames_per_video=3)
    keys = [(dataset.get_data_info(i)['video_id'], dataset.get_data_info(i)['frame_id'])
            for i in range(len(dataset))]
    # video 1 key frames: 9 non-empty frames thinned to 3 evenly spaced; video 2 keeps all (4 > 3 -> 3)
    assert keys == [(1, 0), (1, 5), (1, 9), (2, 0), (2, 2), (2, 3), (3, 0)]
    # the empty frame is not a key frame but still appears inside clips
    assert (1, MOVING_EMPTY_FRAME) in frame_ids(dataset[0])


def test_clip_collate_is_video_major_time_minor(vid_root: Path) -> None:
    dataset = build(vid_root, num_frames=3)
    collate = FUNCTIONS.get('clip_collate')
    idx_a, idx_b = sample_for(dataset, 1, 2), sample_for(dataset, 2, 0)
    batch = collate([dataset[idx_a], dataset[idx_b]])
    assert len(batch['inputs']) == len(batch['data_samples']) == 6
    assert [(s.clip_index, s.clip_frame_index) for s in batch['data_samples']] == \
        [(idx_a, 0), (idx_a, 1), (idx_a, 2), (idx_b, 0), (idx_b, 1), (idx_b, 2)]
    assert [(s.video_id, s.frame_id) for s in batch['data_samples']] == \
        [(1, 2), (1, 3), (1, 4), (2, 0), (2, 1), (2, 2)]
    assert all(isinstance(image, torch.Tensor) and image.dim() == 3 for image in batch['inputs'])


def test_test_mode_yields_frames_in_video_order(vid_root: Path) -> None:
    dataset = build(vid_root, test_mode=True, pipeline=TEST_PIPELINE, num_frames=4)
    assert len(dataset) == 15
    order, starts = [], []
    for idx in range(len(dataset)):
        sample = dataset[idx]
        assert isinstance(sample['inputs'], torch.Tensor)
        meta = sample['data_samples']
        order.append((meta.video_id, meta.frame_id))
        starts.append(meta.is_video_start)
    assert order == sorted(order)
    assert starts == [order[i][0] != order[i - 1][0] if i else True for i in range(len(order))]
    assert sum(starts) == 3
    assert dataset.video_sample_ranges() == [(0, 10), (10, 14), (14, 15)]
    batch = FUNCTIONS.get('pseudo_collate')([dataset[0], dataset[1]])
    assert [s.frame_id for s in batch['data_samples']] == [0, 1]


def test_test_clip_len_pads_last_clip(vid_root: Path) -> None:
    dataset = build(vid_root, test_mode=True, pipeline=TEST_PIPELINE, test_clip_len=4)
    clips = [dataset[i] for i in range(len(dataset))]
    assert [frame_ids(c)[0] for c in clips] == [(1, 0), (1, 4), (1, 8), (2, 0), (3, 0)]
    assert frame_ids(clips[2]) == [(1, 8), (1, 9), (1, 9), (1, 9)]
    assert [s.is_padded for s in clips[2]['data_samples']] == [False, False, True, True]
    kept = [(s.video_id, s.frame_id) for c in clips for s in c['data_samples'] if not s.is_padded]
    assert kept == sorted(set(kept)) and len(kept) == 15
    assert [c['data_samples'][0].is_video_start for c in clips] == [True, False, False, True, True]


@pytest.mark.parametrize('world_size', [1, 2, 3])
def test_video_sampler_gives_whole_videos_in_order(vid_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                   world_size: int) -> None:
    dataset = build(vid_root, test_mode=True, pipeline=TEST_PIPELINE)
    ranges = dataset.video_sample_ranges()
    per_rank = []
    for rank in range(world_size):
        monkeypatch.setattr(video_sampler_module, 'get_dist_info', lambda r=rank: (r, world_size))
        sampler = DATA_SAMPLERS.build(dict(type='VideoSampler', dataset=dataset, seed=0))
        assert isinstance(sampler, VideoSampler)
        per_rank.append(list(sampler))
        assert len(sampler) == len(per_rank[-1])
    # concatenating the ranks gives the identity order: no overlap, nothing missing, order kept
    assert [i for indices in per_rank for i in indices] == list(range(len(dataset)))
    for start, stop in ranges:  # every video lives on exactly one rank
        assert sum(set(range(start, stop)) <= set(indices) for indices in per_rank) == 1


def test_partition_videos_balances_frame_counts() -> None:
    sizes = [5, 5, 5, 5, 5, 5]
    assert partition_videos(sizes, 3) == [0, 2, 4, 6]
    assert partition_videos([100, 1, 1, 1], 2) == [0, 1, 4]
    assert partition_videos([3], 3) == [0, 0, 1, 1] or partition_videos([3], 3) == [0, 1, 1, 1]
    bounds = partition_videos([7, 3, 9, 2, 2, 8, 4], 3)
    assert bounds[0] == 0 and bounds[-1] == 7 and bounds == sorted(bounds)
