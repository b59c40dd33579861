"""Synthetic gestures: deterministic, balanced, both list formats, and each direction pair is an
exact time reversal of the same generative process (so single frames and frame sets match)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsmdet.datasets.recognition.annotations import load_class_names, parse_annotation_list
from tsmdet.datasets.recognition.synthetic_gestures import (DIRECTION_PAIRS, GESTURE_CLASSES,
                                                            generate_synthetic_actions, render_gesture)


@pytest.mark.parametrize("reversed_class, forward_class", DIRECTION_PAIRS)
def test_pair_is_the_time_reversal_of_the_same_draw(reversed_class, forward_class):
    a = render_gesture(reversed_class, np.random.default_rng(7), size=48, num_frames=10)
    b = render_gesture(forward_class, np.random.default_rng(7), size=48, num_frames=10)
    assert all(np.array_equal(x, y) for x, y in zip(a, b[::-1]))
    assert not np.array_equal(a[0], b[0])  # the motion is visible: first frames differ
    # as sets of frames the two videos are identical (any order)
    key = sorted(f.tobytes() for f in a) == sorted(f.tobytes() for f in b)
    assert key


def test_no_gesture_moves_less_than_a_swipe():
    still = render_gesture("no_gesture", np.random.default_rng(3), 48, 12)
    swipe = render_gesture("swipe_right", np.random.default_rng(3), 48, 12)
    diff = lambda v: np.abs(v[0].astype(int) - v[-1].astype(int)).mean()  # noqa: E731
    assert diff(still) < diff(swipe)


def test_generator_is_deterministic_and_writes_both_formats(tmp_path: Path):
    for name in ("a", "b"):
        generate_synthetic_actions(tmp_path / name, train_videos=9, val_videos=2, frames=(8, 10), size=32, mp4=True)
    for rel in ("frames/train/00004/img_00003.jpg", "train_list_tsm.txt", "val_list_videos.txt"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    root = tmp_path / "a"
    assert load_class_names(root / "classes.txt") == list(GESTURE_CLASSES)
    tsm = parse_annotation_list(root / "train_list_tsm.txt", "tsm", 9, root / "frames")
    raw = parse_annotation_list(root / "train_list_rawframes.txt", "rawframes", 9, root / "frames")
    vids = parse_annotation_list(root / "train_list_videos.txt", "video", 9, root / "videos")
    assert sorted(r.label for r in tsm) == list(range(9))  # balanced, round-robin
    assert [r.total_frames for r in tsm] == [r.total_frames for r in raw]
    assert [r.label for r in vids] == [r.label for r in tsm]
    for rec in tsm:
        assert len(list(Path(rec.path).glob("img_*.jpg"))) == rec.total_frames
    with pytest.raises(FileExistsError):
        generate_synthetic_actions(root, train_videos=1, val_videos=1)


def test_config_names_the_generators_classes_in_order():
    """The synthetic configs carry the class names, so exports and inference need no data on disk."""
    from mmengine.config import Config

    from tsmdet.datasets.recognition.synthetic_gestures import GESTURE_CLASSES

    repo = Path(__file__).resolve().parents[1]
    cfg = Config.fromfile(str(repo / "configs/recognition/synthetic/tsm_r18_gestures.py"))
    assert tuple(cfg.classes) == GESTURE_CLASSES
