"""Recognition pipeline: clip transforms, VideoClassificationDataset on both list formats,
multi-view packing, bad-frame counting and the unreadable-video policy (train drops, test marks)."""
from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tsmdet.datasets.recognition import (VideoClassificationDataset, VideoFlip, VideoMultiScaleCrop, VideoResize,
                                         VideoThreeCrop)
from tsmdet.datasets.recognition.synthetic_gestures import generate_synthetic_actions

T = 8


def train_pipeline(video: bool = False) -> list[dict]:
    return [*([dict(type="VideoInit")] if video else []), dict(type="SampleSegments", num_segments=T),
            dict(type="DecodeFrames"), dict(type="VideoMultiScaleCrop", input_size=48, scales=(1, 0.875)),
            dict(type="PackActionInputs")]


def eval_pipeline(num_clips: int = 1, three_crop: bool = False) -> list[dict]:
    return [dict(type="VideoInit"), dict(type="SampleSegments", num_segments=T, num_clips=num_clips, test_mode=True),
            dict(type="DecodeFrames"), dict(type="VideoResize", scale=48),
            dict(type="VideoThreeCrop", crop_size=48) if three_crop else dict(type="VideoCenterCrop", crop_size=40),
            dict(type="PackActionInputs")]


@pytest.fixture(scope="module")
def gestures(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gestures")
    generate_synthetic_actions(root, train_videos=9, val_videos=9, frames=(12, 14), size=64, mp4=True, overwrite=True)
    return root


def dataset(root: Path, ann: str, fmt: str, pipeline, test_mode=False, prefix="frames/") -> VideoClassificationDataset:
    from mmengine.registry import init_default_scope

    init_default_scope("mmdet")
    return VideoClassificationDataset(ann_file=ann, list_format=fmt, data_root=str(root), data_prefix=dict(video=prefix),
                                      class_names_file="classes.txt", pipeline=pipeline, test_mode=test_mode)


def test_tsm_list_dataset_packs_the_contract(gestures: Path):
    ds = dataset(gestures, "train_list_tsm.txt", "tsm", train_pipeline())
    assert len(ds) == 9 and ds.metainfo["classes"][0] == "swipe_left"
    data = ds[3]
    inputs, sample = data["inputs"], data["data_samples"]
    assert inputs.dtype == torch.uint8 and inputs.shape == (T, 3, 48, 48)  # (V*T, 3, H, W)
    assert int(sample.gt_label) == 3
    meta = sample.metainfo
    assert meta["num_views"] == 1 and meta["num_segments"] == T and meta["num_bad_frames"] == 0
    lines = (gestures / "train_list_tsm.txt").read_text().splitlines()
    assert meta["total_frames"] == int(lines[3].split()[1])
    assert len(meta["frame_inds"]) == T and max(meta["frame_inds"]) < meta["total_frames"]


def test_video_list_and_multi_view_test(gestures: Path):
    ds = dataset(gestures, "val_list_videos.txt", "video", eval_pipeline(num_clips=2, three_crop=True),
                 test_mode=True, prefix="videos/")
    data = ds[0]
    lines = (gestures / "val_list_tsm.txt").read_text().splitlines()
    meta = data["data_samples"].metainfo
    assert meta["total_frames"] == int(lines[0].split()[1])  # the mp4 holds every frame of the folder
    assert data["inputs"].shape == (2 * 3 * T, 3, 48, 48) and meta["num_views"] == 6
    # the same video as a frame folder: same indices, and (JPEG vs mp4, both BGR) close pixels
    folder = dataset(gestures, "val_list_tsm.txt", "tsm", eval_pipeline(num_clips=2, three_crop=True), test_mode=True)[0]
    assert folder["data_samples"].metainfo["frame_inds"].tolist() == meta["frame_inds"].tolist()
    diff = (folder["inputs"].float() - data["inputs"].float()).abs().mean()
    assert diff < 12, diff


def test_corrupt_frame_is_counted_and_unreadable_video_dropped_in_training(gestures: Path, tmp_path: Path):
    import shutil

    root = tmp_path / "set"
    shutil.copytree(gestures, root)
    (root / "frames" / "train" / "00000" / "img_00001.jpg").write_bytes(b"corrupt")
    ds = dataset(root, "train_list_tsm.txt", "tsm", [dict(type="SampleSegments", num_segments=14, test_mode=True),
                                                     dict(type="DecodeFrames"), dict(type="PackActionInputs")],
                 test_mode=True)
    meta = ds[0]["data_samples"].metainfo
    assert meta["num_bad_frames"] == 1 and not meta["skipped"]  # frame 1 of >= 12 sampled with T=14

    (root / "videos" / "train" / "00000.mp4").write_bytes(b"\x00" * 64)
    train = dataset(root, "train_list_videos.txt", "video", train_pipeline(video=True), prefix="videos/")
    np.random.seed(0)
    data = train[0]  # unreadable: dropped with a warning, another video is drawn
    assert train.num_skipped == 1 and int(data["data_samples"].gt_label) != 0
    test = dataset(root, "train_list_videos.txt", "video", eval_pipeline(), test_mode=True, prefix="videos/")
    sample = test[0]["data_samples"]
    assert sample.metainfo["skipped"] and int(sample.gt_label) == 0  # kept and marked for the metric


def test_multiscale_crop_candidates_and_offsets_match_tsm():
    crop = VideoMultiScaleCrop(224, scales=(1, 0.875, 0.75, 0.66))
    # 340x256: sizes int(256 s) = 256, 224, 192, 168; aspect steps at most 1 apart
    assert sorted(crop.crop_candidates(340, 256)) == sorted([
        (256, 256), (224, 256), (256, 224), (224, 224), (192, 224), (224, 192), (192, 192), (168, 192),
        (192, 168), (168, 168)])
    offsets = crop.fixed_offsets(340, 256, 224, 224)  # w_step 29, h_step 8
    assert offsets[:5] == [(0, 0), (116, 0), (0, 32), (116, 32), (58, 16)] and len(offsets) == 13
    random.seed(0)
    frames = [np.random.default_rng(i).integers(0, 255, (256, 340, 3), dtype=np.uint8) for i in range(3)]
    out = crop(dict(imgs=frames))
    x0, y0, x1, y1 = out["crop_bbox"]
    assert all(img.shape == (224, 224, 3) for img in out["imgs"])
    expected = cv2.resize(frames[2][y0:y1, x0:x1], (224, 224), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(out["imgs"][2], expected)  # one crop for the whole clip


def test_resize_three_crop_and_flip():
    frames = [np.arange(40 * 60 * 3, dtype=np.uint32).reshape(40, 60, 3).astype(np.uint8) for _ in range(2)]
    out = VideoResize(scale=20)(dict(imgs=list(frames)))
    assert out["imgs"][0].shape == (20, 30, 3) and out["img_shape"] == (20, 30)
    three = VideoThreeCrop(crop_size=40)(dict(imgs=list(frames)))
    assert len(three["imgs"]) == 6 and three["imgs"][0].shape == (40, 40, 3)
    assert np.array_equal(three["imgs"][0], frames[0][:, :40]) and np.array_equal(three["imgs"][4], frames[0][:, 20:])
    flipped = VideoFlip(prob=1.0)(dict(imgs=list(frames)))
    assert flipped["flip"] and all(np.array_equal(f, g[:, ::-1]) for f, g in zip(flipped["imgs"], frames))
    assert not VideoFlip(prob=0.0)(dict(imgs=list(frames)))["flip"]
