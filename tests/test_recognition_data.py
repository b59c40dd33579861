"""Recognition data: sampling indices (hand-computed), both list formats and their errors,
OpenCV decoding of the real clip, bad-frame substitution and the unreadable-video policy."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tsmdet.datasets.recognition.annotations import AnnotationError, load_class_names, parse_annotation_list
from tsmdet.datasets.recognition.decoding import (UnreadableVideoError, read_folder_frames, read_video_frames,
                                                  video_frame_count)
from tsmdet.datasets.recognition.sampling import (dense_indices, sample_indices, segment_test_indices,
                                                  segment_train_indices)

# shared/ lies beside the checkout (CI copies it there); /work/shared on the developers' machines
REAL_CLIP = next((p for p in (Path(__file__).resolve().parents[2] / "shared/data/real/action_demo.mp4",
                              Path("/work/shared/data/real/action_demo.mp4")) if p.is_file()),
                 Path("/work/shared/data/real/action_demo.mp4"))


# --- sampling: numbers worked out by hand from the TSM release's formulas -----------------------

def test_segment_test_centres_hand_computed():
    # n=20, T=8: tick 2.5, int(1.25 + 2.5 i)
    assert segment_test_indices(20, 8).tolist() == [1, 3, 6, 8, 11, 13, 16, 18]
    # fewer frames than segments: n=5, T=8, tick 0.625, int(0.3125 + 0.625 i)
    assert segment_test_indices(5, 8).tolist() == [0, 0, 1, 2, 2, 3, 4, 4]


def test_twice_sample_and_multi_clip_segments():
    # n=20, T=4, tick 5: centres int(2.5 + 5 i), then starts int(5 i)
    assert segment_test_indices(20, 4, twice_sample=True).tolist() == [2, 7, 12, 17, 0, 5, 10, 15]
    # two clips, n=16, T=4, tick 4: int(4 (i + 1/4)) and int(4 (i + 3/4))
    assert segment_test_indices(16, 4, num_clips=2).tolist() == [1, 5, 9, 13, 3, 7, 11, 15]


def test_segment_train_offsets_stay_in_their_segment():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        inds = segment_train_indices(20, 8, rng)  # d = 2: segment i covers frames 2i, 2i+1
        assert ((inds // 2) == np.arange(8)).all()
        seen.update((inds % 2).tolist())
    assert seen == {0, 1}  # both offsets drawn
    assert segment_train_indices(6, 8, rng).tolist() == [0] * 8  # d = 0 and n <= T: zeros


def test_dense_sampling_hand_computed():
    # n=100, T=8: stride 64 // 8 = 8, sample_pos = 37; 10 test starts linspace(0, 36, 10) as int
    clips = dense_indices(100, 8, num_clips=10, test_mode=True).reshape(10, 8)
    assert clips[:, 0].tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36]
    assert clips[9].tolist() == [36, 44, 52, 60, 68, 76, 84, 92]
    assert dense_indices(100, 8, test_mode=True).tolist() == [18, 26, 34, 42, 50, 58, 66, 74]  # centre start
    # a short video wraps around: n=30, start 0, (8 i) % 30
    assert dense_indices(30, 8, test_mode=True).tolist() == [0, 8, 16, 24, 2, 10, 18, 26]
    rng = np.random.default_rng(1)
    starts = {int(dense_indices(100, 8, rng=rng)[0]) for _ in range(300)}
    assert min(starts) >= 0 and max(starts) <= 35 and len(starts) > 20  # randint(0, sample_pos - 1)


def test_sample_indices_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sampling mode"):
        sample_indices(10, 4, mode="uniform", test_mode=True)
    with pytest.raises(ValueError, match="at least one frame"):
        sample_indices(0, 4, test_mode=True)
    with pytest.raises(ValueError, match="rng"):
        sample_indices(10, 4)


# --- annotation lists -------------------------------------------------------------------------

@pytest.fixture()
def list_tree(tmp_path: Path) -> Path:
    for name in ("a", "b"):
        (tmp_path / "frames" / name).mkdir(parents=True)
        (tmp_path / "videos").mkdir(exist_ok=True)
        (tmp_path / "videos" / f"{name}.mp4").write_bytes(b"")
    (tmp_path / "classes.txt").write_text("swipe left\nswipe right\nno gesture\n")
    return tmp_path


def test_both_list_formats_parse(list_tree: Path):
    (list_tree / "tsm.txt").write_text("a 12 0\n\nb 30 2\n")
    (list_tree / "videos.txt").write_text("# comment\na.mp4 1\nb.mp4 2\n")
    frames = parse_annotation_list(list_tree / "tsm.txt", "tsm", 3, list_tree / "frames")
    assert [(Path(r.path).name, r.total_frames, r.label, r.line) for r in frames] == [("a", 12, 0, 1), ("b", 30, 2, 3)]
    rawframes = parse_annotation_list(list_tree / "tsm.txt", "rawframes", 3, list_tree / "frames")
    assert [r.total_frames for r in rawframes] == [12, 30]
    videos = parse_annotation_list(list_tree / "videos.txt", "video", 3, list_tree / "videos")
    assert [(Path(r.path).name, r.total_frames, r.label, r.line) for r in videos] == [("a.mp4", None, 1, 2),
                                                                                     ("b.mp4", None, 2, 3)]
    assert load_class_names(list_tree / "classes.txt") == ["swipe left", "swipe right", "no gesture"]


@pytest.mark.parametrize("fmt, text, line, message", [
    ("tsm", "a 12 0\nb 30\n", 2, "expected '<frame_folder> <num_frames> <label>'"),
    ("rawframes", "a twelve 0\n", 1, "integer fields"),
    ("video", "a.mp4 0\nb.mp4 7\n", 2, "unknown class index 7"),
    ("tsm", "a 12 0\n\nmissing 4 1\n", 3, "frame folder not found"),
    ("video", "gone.mp4 1\n", 1, "video file not found"),
    ("tsm", "a 0 1\n", 1, "frame count must be positive"),
])
def test_list_errors_name_file_and_line(list_tree: Path, fmt, text, line, message):
    ann = list_tree / "bad.txt"
    ann.write_text(text)
    prefix = list_tree / ("videos" if fmt == "video" else "frames")
    with pytest.raises(AnnotationError, match=message) as err:
        parse_annotation_list(ann, fmt, 3, prefix)
    assert str(err.value).startswith(f"{ann}:{line}:")


def test_class_file_with_a_hole_is_an_error(tmp_path: Path):
    (tmp_path / "c.txt").write_text("a\n\nb\n")
    with pytest.raises(AnnotationError, match=r"c.txt:2: empty class name"):
        load_class_names(tmp_path / "c.txt")


# --- decoding ---------------------------------------------------------------------------------

@pytest.mark.skipif(not REAL_CLIP.is_file(), reason="shared real clip not mounted")
def test_real_clip_decodes_280_frames():
    assert video_frame_count(REAL_CLIP) == 280
    assert video_frame_count(REAL_CLIP, exact=True) == 280
    decoded = read_video_frames(REAL_CLIP, [279, 0, 140, 0])
    assert decoded.num_bad_frames == 0 and len(decoded.frames) == 4
    assert decoded.frames[0].shape == (256, 340, 3) and decoded.frames[0].dtype == np.uint8
    assert np.array_equal(decoded.frames[1], decoded.frames[3])
    assert not np.array_equal(decoded.frames[0], decoded.frames[1])
    past_end = read_video_frames(REAL_CLIP, [278, 279, 300])  # a frame beyond the end: counted, nearest kept
    assert past_end.num_bad_frames == 1 and past_end.bad_frames[0].endswith("#300")
    assert np.array_equal(past_end.frames[2], past_end.frames[1])


def _write_frames(folder: Path, n: int) -> list[np.ndarray]:
    folder.mkdir(parents=True)
    imgs = []
    for i in range(1, n + 1):
        img = np.full((24, 32, 3), 20 * i, dtype=np.uint8)
        cv2.imwrite(str(folder / f"img_{i:05d}.png"), img)
        imgs.append(img)
    return imgs


def test_frame_folder_with_a_corrupt_and_a_missing_frame(tmp_path: Path):
    imgs = _write_frames(tmp_path / "clip", 10)
    (tmp_path / "clip" / "img_00005.png").write_bytes(b"not an image")
    (tmp_path / "clip" / "img_00007.png").unlink()
    decoded = read_folder_frames(tmp_path / "clip", [1, 3, 5, 7, 9], "img_{:05d}.png", first=1, last=10)
    assert decoded.num_bad_frames == 2
    assert [Path(n).name for n in decoded.bad_frames] == ["img_00005.png", "img_00007.png"]
    assert np.array_equal(decoded.frames[2], imgs[3])  # frame 5 -> nearest readable on disk: 4
    assert np.array_equal(decoded.frames[3], imgs[5])  # frame 7 -> 6
    assert np.array_equal(decoded.frames[4], imgs[8])


def test_unreadable_sources_raise_a_named_error(tmp_path: Path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(UnreadableVideoError, match="bad.mp4"):
        read_video_frames(bad, [0])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnreadableVideoError, match="empty"):
        read_folder_frames(tmp_path / "empty", [1, 2], "img_{:05d}.jpg", first=1, last=2)
