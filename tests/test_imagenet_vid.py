"""ImageNet VID / DET converter: exact records on a tiny ILSVRC-layout tree, every bad-input case, the CLI."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsmdet.datasets.imagenet_vid import (
    convert,
    convert_imagenet_det,
    convert_imagenet_vid,
    convert_to_file,
    source_fingerprint,
    stored_fingerprint,
)
from tsmdet.datasets.vid_classes import NAME_TO_WNID, coco_categories
from tsmdet.datasets.vid_xml import AnnotationError, FrameAnnotation, VIDObject, write_frame_xml

REPO = Path(__file__).resolve().parents[1]
W, H = 64, 48
AIRPLANE, DOG, CAR = NAME_TO_WNID["airplane"], NAME_TO_WNID["dog"], NAME_TO_WNID["car"]
PERSON = "n00007846"  # a DET class that is not one of the 30 VID classes

TRAIN_A = "ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000"
TRAIN_B = "ILSVRC2015_VID_train_0001/ILSVRC2015_train_00001000"
VAL_A = "ILSVRC2015_val_00000000"
VAL_B = "ILSVRC2015_val_00000001"


def obj(wnid: str, box: tuple[int, int, int, int], trackid: int = 0, occluded: int = 0,
        generated: int = 0) -> VIDObject:
    return VIDObject(wnid, *box, trackid=trackid, occluded=occluded, generated=generated)


def add_frame(root: Path, kind: str, rel: str, objects: list[VIDObject], image: bool = True) -> Path:
    """One frame: XML under Annotations/<kind>/<rel>.xml and a tiny JPEG under Data/<kind>/<rel>.JPEG."""
    xml = root / "Annotations" / kind / f"{rel}.xml"
    folder, name = rel.rsplit("/", 1)
    write_frame_xml(xml, FrameAnnotation(folder, name, W, H, objects))
    if image:
        jpeg = root / "Data" / kind / f"{rel}.JPEG"
        jpeg.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(jpeg), np.full((H, W, 3), 127, np.uint8))
    return xml


def add_video(root: Path, split: str, video: str, frames: list[list[VIDObject]]) -> None:
    for i, objects in enumerate(frames):
        add_frame(root, "VID", f"{split}/{video}/{i:06d}", objects)


def build_vid(root: Path) -> Path:
    """2 train videos (two chunks), 2 val videos; val B has an empty frame. Counts in the tests."""
    add_video(root, "train", TRAIN_A, [
        [obj(AIRPLANE, (10, 5, 30, 25), 0), obj(DOG, (1, 2, 11, 22), 1, occluded=1)],
        [obj(AIRPLANE, (12, 5, 32, 25), 0), obj(DOG, (2, 2, 12, 22), 1, generated=1)],
        [obj(DOG, (3, 2, 13, 22), 1)],
    ])
    add_video(root, "train", TRAIN_B, [[obj(CAR, (0, 0, 64, 48), 0)], [obj(CAR, (1, 1, 63, 47), 0)]])
    add_video(root, "val", VAL_A, [
        [obj(CAR, (4, 6, 20, 30), 5)],
        [obj(CAR, (5, 6, 21, 30), 5), obj(DOG, (30, 10, 50, 40), 7)],
        [obj(CAR, (6, 6, 22, 30), 5)],
    ])
    add_video(root, "val", VAL_B, [[obj(AIRPLANE, (1, 1, 9, 9), 0)], []])
    return root


@pytest.fixture
def vid_root(tmp_path: Path) -> Path:
    return build_vid(tmp_path / "ILSVRC2015")


def run(root: Path, split: str, **kwargs) -> dict:
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("progress", False)
    return convert(root, split, **kwargs)


# ---------------------------------------------------------------- exact records


def test_val_records_exact(vid_root: Path) -> None:
    data = run(vid_root, "val")
    assert [v["name"] for v in data["videos"]] == [f"val/{VAL_A}", f"val/{VAL_B}"]
    assert [v["id"] for v in data["videos"]] == [1, 2]
    assert len(data["images"]) == 5 and len(data["annotations"]) == 5
    assert data["images"][0] == {"id": 1, "file_name": f"val/{VAL_A}/000000.JPEG", "video_id": 1,
                                 "frame_id": 0, "width": W, "height": H}
    assert data["annotations"][2] == {
        "id": 3, "image_id": 2, "video_id": 1, "category_id": 9, "instance_id": 2,
        "bbox": [30.0, 10.0, 20.0, 30.0], "area": 600.0, "iscrowd": 0, "occluded": 0, "generated": 0,
    }
    # val B: instance ids continue globally; its second frame is empty but kept
    assert data["annotations"][4]["instance_id"] == 3
    assert data["images"][4] == {"id": 5, "file_name": f"val/{VAL_B}/000001.JPEG", "video_id": 2,
                                 "frame_id": 1, "width": W, "height": H}
    assert data["categories"] == coco_categories()
    s = data["summary"]
    assert (s["videos"], s["images"], s["annotations"], s["instances"], s["empty_images"]) == (2, 5, 5, 3, 1)
    assert data["info"]["file_name_prefix"] == "Data/VID"


def test_train_scan_without_imagesets(vid_root: Path) -> None:
    data = run(vid_root, "train")
    assert [v["name"] for v in data["videos"]] == [f"train/{TRAIN_A}", f"train/{TRAIN_B}"]
    assert len(data["images"]) == 5 and len(data["annotations"]) == 7
    assert data["summary"]["instances"] == 3  # (A,0) (A,1) (B,0): trackid 0 of B is a new instance
    inst = [(a["video_id"], a["instance_id"]) for a in data["annotations"]]
    assert inst == [(1, 1), (1, 2), (1, 1), (1, 2), (1, 2), (2, 3), (2, 3)]
    flags = [(a["occluded"], a["generated"]) for a in data["annotations"][:4]]
    assert flags == [(0, 0), (1, 0), (0, 0), (0, 1)]
    assert data["annotations"][5]["bbox"] == [0.0, 0.0, 64.0, 48.0]  # touching the border: not clipped
    assert data["summary"]["boxes_clipped"] == 0


def test_frame_ids_ordered_and_ids_sequential(tmp_path: Path) -> None:
    root = tmp_path / "r"
    for i in reversed(range(12)):  # written in reverse, also past 9 -> numeric order matters
        add_frame(root, "VID", f"val/{VAL_A}/{i:06d}", [obj(CAR, (1, 1, 5, 5))])
    data = run(root, "val")
    assert [im["frame_id"] for im in data["images"]] == list(range(12))
    assert [im["id"] for im in data["images"]] == list(range(1, 13))
    assert [a["image_id"] for a in data["annotations"]] == list(range(1, 13))


def test_imagesets_select_videos(vid_root: Path) -> None:
    sets = vid_root / "ImageSets" / "VID"
    sets.mkdir(parents=True)
    (sets / "train_1.txt").write_text(f"{TRAIN_B} 1\n{TRAIN_B} -1\n\n")
    (sets / "train_2.txt").write_text(f"train/{TRAIN_B} 1 10 300\n")  # the 15-frames list format
    (sets / "val.txt").write_text(f"{VAL_B}/000000 1\n{VAL_B}/000001 2\n")
    assert [v["name"] for v in run(vid_root, "train")["videos"]] == [f"train/{TRAIN_B}"]
    assert [v["name"] for v in run(vid_root, "val")["videos"]] == [f"val/{VAL_B}"]


def test_imagesets_malformed_line_names_file(vid_root: Path) -> None:
    sets = vid_root / "ImageSets" / "VID"
    sets.mkdir(parents=True)
    (sets / "train_1.txt").write_text(f"{TRAIN_A} 1\nILSVRC2015_train_00000000 1\n")
    with pytest.raises(AnnotationError, match=r"train_1\.txt:2"):
        run(vid_root, "train")


def test_imagesets_video_without_folder(vid_root: Path) -> None:
    sets = vid_root / "ImageSets" / "VID"
    sets.mkdir(parents=True)
    (sets / "val.txt").write_text(f"{VAL_A}/000000 1\nILSVRC2015_val_00000099/000000 2\n")
    with pytest.raises(AnnotationError, match="ILSVRC2015_val_00000099"):
        run(vid_root, "val")
    data = run(vid_root, "val", strict=False)
    assert data["summary"]["missing_videos"] == 1
    assert [v["name"] for v in data["videos"]] == [f"val/{VAL_A}"]


def test_parallel_matches_serial(vid_root: Path) -> None:
    assert run(vid_root, "train", workers=2) == run(vid_root, "train", workers=1)


def test_public_wrappers_check_split(vid_root: Path) -> None:
    assert convert_imagenet_vid(vid_root, "val", workers=1, progress=False) == run(vid_root, "val")
    with pytest.raises(ValueError, match="split"):
        convert_imagenet_vid(vid_root, "det")


# ---------------------------------------------------------------- DET subset


def build_det(root: Path) -> None:
    items = {
        "train/ILSVRC2014_train_0000/ILSVRC2014_train_00000001": [
            obj(DOG, (1, 1, 21, 11)), obj(PERSON, (0, 0, 5, 5)), obj(CAR, (5, 5, 15, 25))],
        "train/ILSVRC2014_train_0000/ILSVRC2014_train_00000002": [obj(PERSON, (0, 0, 5, 5))],
        "train/ILSVRC2014_train_0000/ILSVRC2014_train_00000003": [],
        "train/ILSVRC2013_train/n02084071/n02084071_10": [obj(DOG, (2, 3, 12, 13))],
    }
    for rel, objects in items.items():
        add_frame(root, "DET", rel, objects)
    (root / "ImageSets" / "DET").mkdir(parents=True)
    lines = "".join(f"{rel} {i + 1}\n" for i, rel in enumerate(items))
    (root / "ImageSets" / "DET" / "train.txt").write_text(lines)


def test_det_subset(tmp_path: Path) -> None:
    build_det(tmp_path)
    data = convert_imagenet_det(tmp_path, workers=1, progress=False)
    names = [v["name"] for v in data["videos"]]
    assert names == ["train/ILSVRC2013_train/n02084071/n02084071_10",
                     "train/ILSVRC2014_train_0000/ILSVRC2014_train_00000001"]
    assert [(im["id"], im["video_id"], im["frame_id"]) for im in data["images"]] == [(1, 1, 0), (2, 2, 0)]
    assert data["images"][1]["file_name"] == "train/ILSVRC2014_train_0000/ILSVRC2014_train_00000001.JPEG"
    assert [a["instance_id"] for a in data["annotations"]] == [1, 2, 3]
    assert [a["category_id"] for a in data["annotations"]] == [9, 9, 7]
    assert data["annotations"][2]["bbox"] == [5.0, 5.0, 10.0, 20.0]
    s = data["summary"]
    assert (s["frames_seen"], s["boxes_dropped_other_class"], s["images_without_vid_class"]) == (4, 2, 2)
    assert s["boxes_dropped_unknown_wnid"] == 0 and s["unknown_wnids"] == {}
    assert data["info"]["file_name_prefix"] == "Data/DET"


def test_det_missing_list_names_path(tmp_path: Path) -> None:
    (tmp_path / "Annotations" / "DET").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"ImageSets/DET/train\.txt"):
        convert_imagenet_det(tmp_path, workers=1, progress=False)


def test_det_missing_xml_follows_strict(tmp_path: Path) -> None:
    build_det(tmp_path)
    xml = tmp_path / "Annotations/DET/train/ILSVRC2013_train/n02084071/n02084071_10.xml"
    xml.unlink()
    with pytest.raises(AnnotationError, match="n02084071_10.xml"):
        convert_imagenet_det(tmp_path, workers=1, progress=False)
    data = convert_imagenet_det(tmp_path, workers=1, progress=False, strict=False)
    assert data["summary"]["bad_xml_skipped"] == 1 and len(data["images"]) == 1


# ---------------------------------------------------------------- bad input


def test_malformed_xml_strict_and_skip(vid_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = vid_root / "Annotations/VID/val" / VAL_A / "000001.xml"
    bad.write_text("<annotation><size><width>64</width>")
    with pytest.raises(AnnotationError, match=str(bad)):
        run(vid_root, "val")
    with caplog.at_level(logging.WARNING):
        data = run(vid_root, "val", strict=False)
    assert data["summary"]["bad_xml_skipped"] == 1
    assert [im["frame_id"] for im in data["images"] if im["video_id"] == 1] == [0, 2]
    assert str(bad) in caplog.text


def test_bad_size_and_frame_name(vid_root: Path) -> None:
    zero = vid_root / "Annotations/VID/val" / VAL_B / "000001.xml"
    write_frame_xml(zero, FrameAnnotation(VAL_B, "000001", 0, H, []))
    with pytest.raises(AnnotationError, match="000001.xml: non-positive image size"):
        run(vid_root, "val")
    odd = add_frame(vid_root, "VID", f"val/{VAL_A}/frame_x", [])
    data = run(vid_root, "val", strict=False)
    assert data["summary"]["bad_xml_skipped"] == 2
    zero.unlink()
    with pytest.raises(AnnotationError, match=f"{odd}: file name is not a frame number"):
        run(vid_root, "val")


def test_missing_image_skipped(vid_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    jpeg = vid_root / "Data/VID/val" / VAL_A / "000002.JPEG"
    jpeg.unlink()
    with caplog.at_level(logging.WARNING):
        data = run(vid_root, "val")
    assert data["summary"]["missing_images"] == 1
    assert len(data["images"]) == 4
    assert str(jpeg) in caplog.text


def test_missing_image_folder_one_warning(vid_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    for jpeg in (vid_root / "Data/VID/val" / VAL_A).iterdir():
        jpeg.unlink()
    (vid_root / "Data/VID/val" / VAL_A).rmdir()
    with caplog.at_level(logging.WARNING):
        data = run(vid_root, "val")
    s = data["summary"]
    assert (s["missing_images"], s["videos_without_frames"], s["videos"]) == (3, 1, 1)
    assert "image folder missing or empty, 3 frames skipped" in caplog.text


def test_boxes_clipped_and_dropped(tmp_path: Path) -> None:
    add_frame(tmp_path, "VID", f"val/{VAL_A}/000000", [
        obj(CAR, (-5, 10, 20, 60), 0),   # clipped to (0, 10, 20, 48)
        obj(DOG, (70, 5, 90, 20), 1),    # entirely right of the image -> empty after clipping
        obj(DOG, (10, 10, 10, 20), 2),   # zero width
        obj(DOG, (20, 30, 10, 40), 3),   # inverted
    ])
    data = run(tmp_path, "val")
    assert [a["bbox"] for a in data["annotations"]] == [[0.0, 10.0, 20.0, 38.0]]
    assert data["annotations"][0]["area"] == 760.0
    s = data["summary"]
    assert (s["boxes_clipped"], s["boxes_dropped_empty"]) == (1, 3)


def test_unknown_wnid_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = (1, 1, 5, 5)
    add_frame(tmp_path, "VID", f"val/{VAL_A}/000000", [obj("n99999999", box), obj(CAR, box, 1)])
    add_frame(tmp_path, "VID", f"val/{VAL_A}/000001", [obj("n99999999", box), obj("n11111111", box)])
    with caplog.at_level(logging.WARNING):
        data = run(tmp_path, "val")
    s = data["summary"]
    assert s["boxes_dropped_unknown_wnid"] == 3
    assert s["unknown_wnids"] == {"n99999999": 2, "n11111111": 1}
    assert len(data["annotations"]) == 1
    assert "n99999999" in caplog.text


def test_frame_gap_warned_and_kept(vid_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    add_frame(vid_root, "VID", f"val/{VAL_B}/000004", [])  # VAL_B has 0, 1: 2 and 3 missing
    with caplog.at_level(logging.WARNING):
        data = run(vid_root, "val")
    assert [im["frame_id"] for im in data["images"] if im["video_id"] == 2] == [0, 1, 4]
    s = data["summary"]
    assert (s["videos_with_gaps"], s["missing_frame_numbers"]) == (1, 2)
    assert f"{VAL_B}: gap in frame numbers, missing 000002, 000003" in caplog.text


def test_missing_root_and_split_name_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        run(tmp_path / "nope", "val")
    (tmp_path / "Annotations" / "VID").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"Annotations/VID/val"):
        run(tmp_path, "val")


# ---------------------------------------------------------------- fingerprint and file output


def test_fingerprint_tracks_sources(vid_root: Path) -> None:
    first = source_fingerprint(vid_root, "val", workers=1)
    assert source_fingerprint(vid_root, "val", workers=2) == first
    assert source_fingerprint(vid_root, "val", strict=False, workers=1) != first
    xml = vid_root / "Annotations/VID/val" / VAL_A / "000000.xml"
    os.utime(xml, ns=(1, 1))
    touched = source_fingerprint(vid_root, "val", workers=1)
    assert touched != first
    (vid_root / "Data/VID/val" / VAL_A / "000000.JPEG").unlink()
    assert source_fingerprint(vid_root, "val", workers=1) != touched


def test_convert_to_file_skips_when_up_to_date(vid_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "val.json"
    summary = convert_to_file(vid_root, "val", out, workers=1, progress=False)
    assert summary is not None and summary.images == 5
    data = json.loads(out.read_text())
    expected = source_fingerprint(vid_root, "val", workers=1)
    assert stored_fingerprint(out) == data["source_fingerprint"] == expected
    assert data["summary"]["images"] == 5
    assert convert_to_file(vid_root, "val", out, workers=1, progress=False) is None
    assert convert_to_file(vid_root, "val", out, workers=1, progress=False, force=True) is not None
    assert not list(out.parent.glob(".*tmp*"))


# ---------------------------------------------------------------- CLI end to end


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(REPO / "tools" / "convert_imagenet_vid.py"), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_end_to_end(vid_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    base = ["--root", str(vid_root), "--split", "train", "--out", str(out), "--workers", "2"]
    first = cli(*base)
    assert first.returncode == 0, first.stderr
    assert "2 videos, 5 images, 7 boxes, 3 instances" in first.stdout and "frames/s" in first.stdout
    data = json.loads(out.read_text())
    assert len(data["annotations"]) == 7 and data["summary"]["split"] == "train"
    mtime = out.stat().st_mtime_ns

    second = cli(*base)
    assert second.returncode == 0 and "up to date, skipped" in second.stderr
    assert out.stat().st_mtime_ns == mtime

    forced = cli(*base, "--force")
    assert forced.returncode == 0 and "up to date" not in forced.stderr
    assert json.loads(out.read_text()) == data


def test_cli_errors_name_the_path(vid_root: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_root"
    result = cli("--root", str(missing), "--split", "val", "--out", str(tmp_path / "x.json"))
    assert result.returncode != 0 and str(missing) in result.stderr
    bad = vid_root / "Annotations/VID/val" / VAL_A / "000000.xml"
    bad.write_text("not xml")
    result = cli("--root", str(vid_root), "--split", "val", "--out", str(tmp_path / "x.json"), "--workers=1")
    assert result.returncode != 0 and str(bad) in result.stderr and "--skip-bad" in result.stderr
    assert not (tmp_path / "x.json").exists()
    result = cli("--root", str(vid_root), "--split", "val", "--out", str(tmp_path / "x.json"), "--skip-bad")
    assert result.returncode == 0
    assert json.loads((tmp_path / "x.json").read_text())["summary"]["bad_xml_skipped"] == 1
