"""The synthetic ImageNet-VID generator: layout, determinism, annotation rules, a fair motion pair."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsmdet.datasets.synthetic import (
    GENERATOR_VERSION, MOTION_PAIR, MOTION_SIGN, SYNTHETIC_CLASSES, VERSION_FILE, generate_synthetic_vid,
    generator_version, render_synthetic_video,
)
from tsmdet.evaluation.vid_metric import MOTION_BUCKETS, compute_motion_iou, motion_bucket
from tsmdet.datasets.vid_classes import CLASS_NAMES, NAME_TO_WNID, WNID_TO_NAME
from tsmdet.datasets.vid_xml import VIDObject, read_frame_xml

TINY = dict(train_videos=3, val_videos=2, frames=12, size=(64, 48), mp4=1, mp4_frames=6)
TRAIN_VIDEO = re.compile(r"^ILSVRC2015_VID_train_0000/ILSVRC2015_train_\d{8}$")
VAL_VIDEO = re.compile(r"^ILSVRC2015_val_\d{8}$")


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("synthetic") / "ILSVRC2015"
    return out, generate_synthetic_vid(out, seed=3, **TINY)


@pytest.fixture(scope="module")
def annotated_videos() -> list[list[list[VIDObject]]]:
    """Boxes of many small in-memory videos (frames >= 21 so motion-IoU windows are whole)."""
    return [[objects for _, objects in render_synthetic_video(11, "train", i, 32, (80, 60))]
            for i in range(30)]


def _video_dirs(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir() and any(p.glob("000000.*")))


def _motion_iou_buckets(frames: list[list[VIDObject]]) -> list[str]:
    """FGFA speed bucket of every box, computed by the VID metric's own motion IoU."""
    rows = [(o.trackid, t, o.xmin, o.ymin, o.xmax, o.ymax) for t, objects in enumerate(frames) for o in objects]
    if not rows:
        return []
    table = np.array(rows, dtype=np.float64)
    miou = compute_motion_iou(np.zeros(len(rows)), table[:, 0], table[:, 1], table[:, 2:])
    return [MOTION_BUCKETS[i] for i in motion_bucket(miou)]


def test_layout_is_ilsvrc2015(tiny_set: tuple[Path, dict[str, int]]) -> None:
    root, counts = tiny_set
    frames = TINY["frames"]
    names = [f"{t:06d}" for t in range(frames)]
    assert sorted(p.name for p in root.iterdir()) == ["Annotations", "Data", "ImageSets", VERSION_FILE, "videos"]
    assert sorted(p.name for p in (root / "Data" / "VID").iterdir()) == ["train", "val"]
    for split, pattern in (("train", TRAIN_VIDEO), ("val", VAL_VIDEO)):
        videos = _video_dirs(root / "Data" / "VID" / split)
        assert len(videos) == TINY[f"{split}_videos"] and all(pattern.match(v) for v in videos)
        assert _video_dirs(root / "Annotations" / "VID" / split) == videos
        for video in videos:
            images = sorted(p.name for p in (root / "Data/VID" / split / video).iterdir())
            xmls = sorted(p.name for p in (root / "Annotations/VID" / split / video).iterdir())
            assert images == [f"{s}.JPEG" for s in names] and xmls == [f"{s}.xml" for s in names]
            ann = read_frame_xml(root / "Annotations/VID" / split / video / "000003.xml")
            assert (ann.folder, ann.filename, ann.width, ann.height) == (video, "000003", 64, 48)
    assert counts["train_frames"] == TINY["train_videos"] * frames
    assert counts["val_frames"] == TINY["val_videos"] * frames
    image = cv2.imread(str(root / "Data/VID/val/ILSVRC2015_val_00000001/000011.JPEG"))
    assert image.shape == (48, 64, 3)


def test_image_sets(tiny_set: tuple[Path, dict[str, int]]) -> None:
    root, _ = tiny_set
    set_dir = root / "ImageSets" / "VID"
    classes_of: dict[str, set[str]] = defaultdict(set)
    for xml in (root / "Annotations/VID/train").rglob("*.xml"):
        classes_of[str(xml.parent.relative_to(root / "Annotations/VID/train"))].update(
            WNID_TO_NAME[o.wnid] for o in read_frame_xml(xml).objects)
    for name in SYNTHETIC_CLASSES:
        expected = sorted(v for v, names in classes_of.items() if name in names)
        path = set_dir / f"train_{CLASS_NAMES.index(name) + 1}.txt"
        lines = path.read_text().splitlines() if path.exists() else []
        assert lines == [f"{v} 1" for v in expected]
    val_lines = (set_dir / "val.txt").read_text().splitlines()
    videos = _video_dirs(root / "Data/VID/val")
    assert val_lines == [f"{v}/{t:06d} {i * TINY['frames'] + t + 1}"
                         for i, v in enumerate(videos) for t in range(TINY["frames"])]


def test_mp4_written(tiny_set: tuple[Path, dict[str, int]]) -> None:
    root, counts = tiny_set
    capture = cv2.VideoCapture(str(root / "videos" / "synthetic_00.mp4"))
    try:
        assert capture.isOpened() and counts["mp4_videos"] == 1
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == TINY["mp4_frames"]
        width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
        assert (int(width), int(height)) == TINY["size"]
    finally:
        capture.release()


def _snapshot(root: Path) -> dict[str, bytes | np.ndarray]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".xml", ".JPEG", ".txt"))
    return {str(p.relative_to(root)): cv2.imread(str(p)) if p.suffix == ".JPEG" else p.read_bytes()
            for p in files}


def test_deterministic_by_seed_and_independent_of_workers(tmp_path: Path) -> None:
    config = dict(train_videos=2, val_videos=1, frames=6, size=(48, 32), mp4=0)
    generate_synthetic_vid(tmp_path / "a", seed=5, workers=1, **config)
    generate_synthetic_vid(tmp_path / "b", seed=5, workers=2, **config)
    generate_synthetic_vid(tmp_path / "c", seed=6, workers=1, **config)
    a, b, c = (_snapshot(tmp_path / name) for name in "abc")
    assert a.keys() == b.keys() and len(a) > 0
    for key in a:
        assert np.array_equal(a[key], b[key]) if key.endswith(".JPEG") else a[key] == b[key], key
    jpegs = [k for k in a if k.endswith(".JPEG")]
    assert any(not np.array_equal(a[k], c[k]) for k in jpegs)


def test_refuses_to_mix_into_existing_set(tiny_set: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root, _ = tiny_set
    with pytest.raises(FileExistsError):
        generate_synthetic_vid(root, **TINY)
    small = dict(train_videos=1, val_videos=0, frames=2, size=(32, 32), mp4=0)
    generate_synthetic_vid(tmp_path, **small)
    generate_synthetic_vid(tmp_path, overwrite=True, **small)


def test_boxes_inside_image_and_trackids_stable(annotated_videos: list[list[list[VIDObject]]]) -> None:
    wnids = {NAME_TO_WNID[name] for name in SYNTHETIC_CLASSES}
    for frames in annotated_videos:
        class_of_track: dict[int, str] = {}
        for objects in frames:
            assert len({o.trackid for o in objects}) == len(objects)
            for o in objects:
                assert 0 <= o.xmin < o.xmax <= 79 and 0 <= o.ymin < o.ymax <= 59
                assert o.wnid in wnids and o.generated == 0
                assert class_of_track.setdefault(o.trackid, o.wnid) == o.wnid


def test_occlusion_entering_and_empty_frames_occur(annotated_videos: list[list[list[VIDObject]]]) -> None:
    boxes = [o for frames in annotated_videos for objects in frames for o in objects]
    assert 0.02 < np.mean([o.occluded for o in boxes]) < 0.5
    tracks_with_gaps = sum(
        1 for frames in annotated_videos for tid in {o.trackid for objs in frames for o in objs}
        if not all(any(o.trackid == tid for o in objs) for objs in frames))
    assert tracks_with_gaps > 0
    assert any(not objects for frames in annotated_videos for objects in frames)
    assert max(len(objects) for frames in annotated_videos for objects in frames) <= 3


def test_all_speed_buckets_and_small_objects_present(annotated_videos: list[list[list[VIDObject]]]) -> None:
    buckets = [b for frames in annotated_videos for b in _motion_iou_buckets(frames)]
    for name in ("slow", "medium", "fast"):
        assert buckets.count(name) / len(buckets) > 0.1, name
    sizes = [((o.xmax - o.xmin), (o.ymax - o.ymin)) for f in annotated_videos for objs in f for o in objs]
    small = [w * h / ((w + 10) * (h + 10)) < 0.5 for w, h in sizes]   # devkit's looser-IoU objects
    assert 0.05 < np.mean(small) < 0.95


def _instance_statistics(videos: int) -> dict[str, dict[str, np.ndarray]]:
    """Per-instance means of single-frame statistics, and the instance's mean x-velocity, per class."""
    size = (64, 48)
    per_instance: dict[tuple[int, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    class_of: dict[tuple[int, int], str] = {}
    for v in range(videos):
        previous: dict[int, float] = {}
        for image, objects in render_synthetic_video(21, "val", v, 10, size):
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
            current = {}
            for o in objects:
                key = (v, o.trackid)
                class_of[key] = WNID_TO_NAME[o.wnid]
                crop = image[int(o.ymin):int(np.ceil(o.ymax)) + 1, int(o.xmin):int(np.ceil(o.xmax)) + 1]
                gcrop = grey[int(o.ymin):int(np.ceil(o.ymax)) + 1, int(o.xmin):int(np.ceil(o.xmax)) + 1]
                centre_x = (o.xmin + o.xmax) / 2
                stats = per_instance[key]
                stats["mean"].append(float(crop.mean()))
                stats["std"].append(float(crop.std()))
                stats["width"].append(o.xmax - o.xmin)
                stats["height"].append(o.ymax - o.ymin)
                stats["centre_x"].append(centre_x / size[0])
                stats["centre_y"].append((o.ymin + o.ymax) / 2 / size[1])
                dx = np.diff(gcrop, axis=1) if gcrop.shape[1] > 1 else np.zeros(1, np.float32)
                stats["signed_dx"].append(float(dx.mean()))   # would show a one-sided smear
                stats["abs_dx"].append(float(np.abs(dx).mean()))
                stats["occluded"].append(o.occluded)
                if o.trackid in previous:
                    stats["velocity_x"].append(centre_x - previous[o.trackid])
                current[o.trackid] = centre_x
            previous = current
    result: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for key, stats in per_instance.items():
        for name, values in stats.items():
            result[class_of[key]][name].append(float(np.mean(values)))
    return {c: {k: np.asarray(v) for k, v in s.items()} for c, s in result.items()}


def _z_score(a: np.ndarray, b: np.ndarray) -> float:
    return abs(a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


def test_motion_pair_identical_in_single_frames_opposite_in_motion() -> None:
    stats = _instance_statistics(videos=160)
    first, second = (stats[name] for name in MOTION_PAIR)
    assert min(len(first["mean"]), len(second["mean"])) > 50
    single_frame = ("mean", "std", "width", "height", "centre_x", "centre_y", "signed_dx", "abs_dx",
                    "occluded")
    for name in single_frame:
        assert _z_score(first[name], second[name]) < 3.5, name
    # The statistics have the power to tell visibly different classes apart.
    assert max(_z_score(first[name], stats["zebra"][name]) for name in single_frame) > 8
    for name, values in zip(MOTION_PAIR, (first, second)):
        assert np.all(MOTION_SIGN[name] * values["velocity_x"] >= 0), name
        assert MOTION_SIGN[name] * values["velocity_x"].mean() > 0.2, name


def test_motion_pair_moves_a_visible_distance_per_frame() -> None:
    """The pair's speed is in pixels: 1.5-5 % of the short side per frame (1.8-6 px at 160x120)."""
    from tsmdet.datasets.synthetic.scene import sample_instances

    rng = np.random.default_rng(0)
    speeds = {name: [] for name in SYNTHETIC_CLASSES}
    for _ in range(300):
        for inst in sample_instances(rng, 160, 120):
            speeds[inst.class_name].append(float(np.hypot(*inst.velocity)))
    for name in MOTION_PAIR:
        assert len(speeds[name]) > 50
        assert 0.015 * 120 <= min(speeds[name]) and max(speeds[name]) <= 0.05 * 120, name
    # the appearance classes keep the size-relative bands, slow ones included
    assert min(speeds["zebra"]) < 0.5


def test_version_marker_and_demo_regenerates_a_stale_set(tmp_path: Path, monkeypatch) -> None:
    from tsmdet.apis import demo

    root = tmp_path / "syn"
    monkeypatch.setattr(demo, "SYNTHETIC_ARGS", dict(seed=0, train_videos=1, val_videos=1, frames=3,
                                                     size=(64, 48), mp4=0))
    demo.prepare_synthetic_data(root, workers=1)
    assert generator_version(root) == GENERATOR_VERSION
    (root / VERSION_FILE).write_text("1\n")  # a set made by an older generator
    stale_xml = next((root / "Annotations" / "VID" / "train").rglob("*.xml"))
    stale_xml.write_text("stale")
    demo.prepare_synthetic_data(root, workers=1)
    assert generator_version(root) == GENERATOR_VERSION
    assert stale_xml.read_text() != "stale"
    assert (root / "annotations" / "imagenet_vid_val.json").is_file()
