"""Tests of the ImageNet VID metric: devkit AP by hand, devkit threshold, motion split, CLI, VIDMetric."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tsmdet.evaluation.vid_metric import (
    compute_motion_iou, devkit_iou_threshold, evaluate_vid, motion_bucket, paired_iou, voc_ap,
)

REPO = Path(__file__).resolve().parents[1]
Box = tuple[float, float, float, float]


class GtBuilder:
    """Builds a small CocoVID dict: one call per ground-truth box."""

    def __init__(self, classes: tuple[str, ...] = ("cat", "dog", "fox")) -> None:
        self.gt: dict = {
            "categories": [{"id": i + 1, "name": n, "encode_name": n} for i, n in enumerate(classes)],
            "videos": [], "images": [], "annotations": [],
        }
        self._images: dict[tuple[int, int], int] = {}

    def image(self, video: int, frame: int) -> int:
        """Image id of (video, frame), created on first use."""
        if (video, frame) not in self._images:
            if video not in {v["id"] for v in self.gt["videos"]}:
                self.gt["videos"].append({"id": video, "name": f"v{video}"})
            img_id = len(self._images) + 1
            self._images[(video, frame)] = img_id
            self.gt["images"].append({"id": img_id, "file_name": f"v{video}/{frame:06d}.JPEG",
                                      "video_id": video, "frame_id": frame, "width": 640, "height": 480})
        return self._images[(video, frame)]

    def box(self, video: int, frame: int, cat: int, instance: int, bbox: Box) -> int:
        img_id = self.image(video, frame)
        self.gt["annotations"].append({
            "id": len(self.gt["annotations"]) + 1, "image_id": img_id, "video_id": video,
            "category_id": cat, "instance_id": instance, "bbox": list(bbox), "area": bbox[2] * bbox[3],
            "iscrowd": 0, "occluded": 0, "generated": 0})
        return img_id


def gt_as_dets(gt: dict, score: float = 1.0) -> list[dict]:
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": list(a["bbox"]),
             "score": score} for a in gt["annotations"]]


def det(image_id: int, cat: int, bbox: Box, score: float) -> dict:
    return {"image_id": image_id, "category_id": cat, "bbox": list(bbox), "score": score}


def two_tracks(num_frames: int = 21, step: float = 20.0) -> GtBuilder:
    """Video 1: a static cat (instance 0, slow) and a dog moving ``step`` px/frame (instance 1)."""
    b = GtBuilder()
    for f in range(num_frames):
        b.box(1, f, 1, 0, (10.0, 10.0, 100.0, 100.0))
        b.box(1, f, 2, 1, (200.0 + step * f, 200.0, 50.0, 50.0))
    return b


def test_voc_ap_by_hand() -> None:
    # 2 GT; TP, FP, TP: recall .5,.5,1 / precision 1,.5,2/3 -> AP = .5*1 + .5*2/3
    assert voc_ap(np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]), 2) == pytest.approx(5 / 6)
    # the FP first: precision .0,.5,.667 -> envelope .667 everywhere
    assert voc_ap(np.array([0.0, 1.0, 1.0]), np.array([1.0, 0.0, 0.0]), 2) == pytest.approx(2 / 3)


def test_gt_as_detections_is_perfect() -> None:
    b = two_tracks()
    b.box(2, 0, 3, 7, (5.0, 5.0, 30.0, 40.0))  # single-frame instance: fast by FGFA's rule
    result = evaluate_vid(b.gt, gt_as_dets(b.gt), convention="coco")
    for key in ("ap", "ap50", "devkit_map", "ap50_slow", "ap50_fast"):
        assert result[key] == pytest.approx(1.0), key
    assert result["ap50_medium"] is None  # no class has a medium GT
    assert result["num_gt"] == 43 and result["num_dets"] == 43 and result["num_images"] == 22
    assert result["num_gt_slow"] == 21 and result["num_gt_fast"] == 22
    assert result["per_class"]["fox"] == pytest.approx(
        {"ap": 1.0, "ap50": 1.0, "devkit_ap": 1.0, "ap50_slow": None, "ap50_medium": None,
         "ap50_fast": 1.0, "num_gt": 1})


def test_hand_computed_devkit_ap() -> None:
    b = GtBuilder()
    a = b.box(1, 0, 1, 0, (0.0, 0.0, 100.0, 100.0))
    c = b.box(1, 5, 1, 0, (0.0, 0.0, 100.0, 100.0))
    dets = [det(a, 1, (0.0, 0.0, 100.0, 100.0), 0.9),     # TP
            det(a, 1, (0.0, 0.0, 100.0, 100.0), 0.8),     # duplicate of a matched GT -> FP
            det(c, 1, (2.0, 2.0, 100.0, 100.0), 0.7)]     # TP
    result = evaluate_vid(b.gt, dets, convention="coco")
    assert result["devkit_map"] == pytest.approx(5 / 6)
    assert result["per_class"]["cat"]["devkit_ap"] == pytest.approx(5 / 6)


def test_devkit_threshold_is_looser_for_small_boxes() -> None:
    assert devkit_iou_threshold(np.array([[10.0, 10.0], [200.0, 100.0]])) == pytest.approx([0.25, 0.5])
    b = GtBuilder()
    img = b.box(1, 0, 1, 0, (0.0, 0.0, 10.0, 10.0))
    # IoU 50/150 = 1/3
    result = evaluate_vid(b.gt, [det(img, 1, (5.0, 0.0, 10.0, 10.0), 0.9)], convention="coco")
    assert result["devkit_map"] == pytest.approx(1.0)  # 1/3 >= 0.25
    assert result["ap50"] == pytest.approx(0.0)  # but 1/3 < 0.5 for COCO


def test_motion_iou_buckets() -> None:
    b = two_tracks(step=20.0)  # 50 px dog moving 20 px/frame: IoU 3/7 with the next frame
    b.box(1, 0, 3, 9, (0.0, 0.0, 20.0, 20.0))  # no neighbour
    anns = b.gt["annotations"]
    frames = {im["id"]: im["frame_id"] for im in b.gt["images"]}
    xywh = np.array([a["bbox"] for a in anns])
    miou = compute_motion_iou(np.ones(len(anns), dtype=np.int64),
                              np.array([a["instance_id"] for a in anns]),
                              np.array([frames[a["image_id"]] for a in anns]),
                              np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1))
    cat = np.array([a["category_id"] for a in anns])
    assert miou[cat == 1] == pytest.approx(1.0)
    first_dog = np.flatnonzero(cat == 2)[0]  # frame 0: neighbours at +1 (IoU 3/7), +2 (1/9), rest 0
    assert miou[first_dog] == pytest.approx((3 / 7 + 1 / 9) / 10)
    assert miou[-1] == 0.0
    assert list(motion_bucket(np.array([0.95, 0.9, 0.8, 0.7, 0.5]))) == [0, 1, 1, 1, 2]


def test_unmatched_detection_on_ignored_gt_is_not_fp() -> None:
    """FGFA: an unmatched detection overlapping ignored GT more than in-split GT is no FP."""
    b = two_tracks()
    anns = b.gt["annotations"]
    # "cat" detections on the dog boxes (fast, ignored in the slow split), ranked above the
    # correct cat detections: wrong class, so unmatched.
    dets = [det(a["image_id"], 1, a["bbox"], 0.5) for a in anns if a["category_id"] == 1]
    dets += [det(a["image_id"], 1, a["bbox"], 0.9) for a in anns if a["category_id"] == 2]
    result = evaluate_vid(b.gt, dets, convention="coco")
    assert result["per_class"]["cat"]["ap50_slow"] == pytest.approx(1.0)
    assert result["per_class"]["cat"]["ap50_fast"] is None  # no fast cat GT
    # In the plain devkit nothing is ignored: 21 FP ranked first, precision envelope 0.5.
    assert result["per_class"]["cat"]["devkit_ap"] == pytest.approx(0.5)


def test_matched_to_ignored_gt_is_dropped() -> None:
    b = GtBuilder()
    for f in range(11):  # instance 0 static (slow), instance 1 jumping (fast), same class
        b.box(1, f, 1, 0, (0.0, 0.0, 100.0, 100.0))
        b.box(1, f, 1, 1, (300.0 + 60.0 * f, 300.0, 50.0, 50.0))
    slow_dets = [det(a["image_id"], 1, a["bbox"], 0.5) for a in b.gt["annotations"] if a["instance_id"] == 0]
    fast_dets = [det(a["image_id"], 1, a["bbox"], 0.9) for a in b.gt["annotations"] if a["instance_id"] == 1]
    result = evaluate_vid(b.gt, slow_dets + fast_dets, convention="coco")
    assert result["ap50_slow"] == pytest.approx(1.0)  # the higher-scored fast TPs are not FPs here
    assert result["ap50_fast"] == pytest.approx(1.0)
    # without the fast detections recall in the fast split is 0 and the slow ones stay ignored
    result = evaluate_vid(b.gt, slow_dets, convention="coco")
    assert result["ap50_fast"] == pytest.approx(0.0) and result["ap50_slow"] == pytest.approx(1.0)


def test_class_without_gt_is_excluded() -> None:
    b = GtBuilder()
    img = b.box(1, 0, 1, 0, (0.0, 0.0, 50.0, 50.0))
    b.box(1, 0, 2, 1, (100.0, 100.0, 50.0, 50.0))
    dets = gt_as_dets(b.gt) + [det(img, 3, (200.0, 200.0, 20.0, 20.0), 0.99)]  # a fox, no fox GT
    result = evaluate_vid(b.gt, dets, convention="coco")
    fox = result["per_class"]["fox"]
    assert fox["ap50"] is None and fox["devkit_ap"] is None and fox["num_gt"] == 0
    assert result["devkit_map"] == pytest.approx(1.0) and result["ap50"] == pytest.approx(1.0)

    only_cat = evaluate_vid(b.gt, dets, classes=["cat"], convention="coco")
    assert list(only_cat["per_class"]) == ["cat"] and only_cat["num_gt"] == 1 and only_cat["num_dets"] == 1
    with pytest.raises(ValueError, match="zebra"):
        evaluate_vid(b.gt, dets, classes=["zebra"], convention="coco")


def test_unknown_ids_are_errors() -> None:
    b = GtBuilder()
    img = b.box(1, 0, 1, 0, (0.0, 0.0, 50.0, 50.0))
    with pytest.raises(ValueError, match=r"image ids.*\[999\]"):
        evaluate_vid(b.gt, [det(999, 1, (0.0, 0.0, 5.0, 5.0), 0.5)], convention="coco")
    with pytest.raises(ValueError, match=r"category ids.*\[42\]"):
        evaluate_vid(b.gt, [det(img, 42, (0.0, 0.0, 5.0, 5.0), 0.5)], convention="coco")


def test_no_detections() -> None:
    result = evaluate_vid(two_tracks().gt, [], convention="coco")
    assert result["ap50"] == 0.0 and result["devkit_map"] == 0.0 and result["num_dets"] == 0


def _reference_split_ap(gt: dict, dets: list[dict], in_split: np.ndarray, miou: np.ndarray) -> list:
    """Loop-by-loop port of FGFA's ``vid_eval_motion`` (continuous IoU), for cross-checking."""
    anns = gt["annotations"]
    ignored = ~in_split[motion_bucket(miou)]
    boxes = {a["id"]: np.array(a["bbox"][:2] + [a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]])
             for a in anns}
    npos = {c["id"]: sum(1 for a, ig in zip(anns, ignored) if a["category_id"] == c["id"] and not ig)
            for c in gt["categories"]}
    empty_weight = float((~ignored).sum()) / len(anns)
    scored: list[tuple[float, int, float, float]] = []  # score, category, tp, fp
    for im in gt["images"]:
        gts = [(a, ig) for a, ig in zip(anns, ignored) if a["image_id"] == im["id"]]
        detected = [False] * len(gts)
        for d in sorted((d for d in dets if d["image_id"] == im["id"]), key=lambda d: -d["score"]):
            x, y, w, h = d["bbox"]
            box = np.array([[x, y, x + w, y + h]])
            ovs = [float(paired_iou(box, boxes[a["id"]][None])[0]) for a, _ in gts]
            ovmax, kmax, ov_ig, ov_nig = -1.0, -1, -1.0, -1.0
            for k, ((a, ig), ov) in enumerate(zip(gts, ovs)):
                aw, ah = a["bbox"][2], a["bbox"][3]
                thr = min(0.5, aw * ah / ((aw + 10) * (ah + 10)))
                if ov >= thr and ov > ovmax and not detected[k] and a["category_id"] == d["category_id"]:
                    ovmax, kmax = ov, k
                if ig and ov > ov_ig:
                    ov_ig = ov
                if not ig and ov > ov_nig:
                    ov_nig = ov
            if kmax >= 0:
                detected[kmax] = True
                tp, fp = float(not gts[kmax][1]), 0.0
            elif ov_nig > ov_ig:
                tp, fp = 0.0, 1.0
            elif ov_ig > ov_nig:
                tp, fp = 0.0, 0.0
            else:
                tp, fp = 0.0, (sum(ig for _, ig in gts) / len(gts) if gts else empty_weight)
            scored.append((d["score"], d["category_id"], tp, fp))
    aps = []
    for c in gt["categories"]:
        rows = sorted((s for s in scored if s[1] == c["id"]), key=lambda s: -s[0])
        tp = np.array([r[2] for r in rows])
        fp = np.array([r[3] for r in rows])
        aps.append(voc_ap(tp, fp, npos[c["id"]]) if npos[c["id"]] else None)
    return aps


def _random_scene(seed: int) -> tuple[dict, list[dict]]:
    """Three short videos of random-walking boxes (mixed speeds) and noisy detections."""
    rng = np.random.default_rng(seed)
    b = GtBuilder()
    for video in range(3):
        for instance in range(3):
            cat = int(rng.integers(1, 4))
            xy, wh, speed = rng.uniform(0, 300, 2), rng.uniform(8, 120, 2), rng.choice([0.5, 5.0, 30.0])
            for frame in range(int(rng.integers(1, 14))):
                xy = xy + rng.normal(0, speed, 2)
                b.box(video, frame, cat, instance, (float(xy[0]), float(xy[1]), float(wh[0]), float(wh[1])))
    b.image(5, 0)  # an image without GT
    dets = []
    for a in b.gt["annotations"]:
        for _ in range(int(rng.integers(0, 4))):
            x, y, w, h = np.array(a["bbox"]) + rng.normal(0, 0.15 * np.sqrt(a["area"]), 4)
            cat = a["category_id"] if rng.random() < 0.8 else int(rng.integers(1, 4))
            dets.append(det(a["image_id"], cat, (x, y, abs(w) + 1, abs(h) + 1), float(rng.random())))
    for im in b.gt["images"]:
        x, y = rng.uniform(0, 400, 2)
        dets.append(det(im["id"], int(rng.integers(1, 4)), (x, y, 40.0, 40.0), float(rng.random())))
    return b.gt, dets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_loop_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised matcher (also across small det chunks) equals FGFA's per-detection loop."""
    import tsmdet.evaluation.vid_metric.matching as vm

    monkeypatch.setattr(vm, "_CHUNK_DETS", 7)
    gt, dets = _random_scene(seed)
    result = evaluate_vid(gt, dets, convention="coco")
    anns = gt["annotations"]
    frames = {im["id"]: im["frame_id"] for im in gt["images"]}
    xywh = np.array([a["bbox"] for a in anns])
    miou = compute_motion_iou(np.array([a["video_id"] for a in anns]),
                              np.array([a["instance_id"] for a in anns]),
                              np.array([frames[a["image_id"]] for a in anns]),
                              np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1))
    names = [c["name"] for c in gt["categories"]]
    checks = [("devkit_ap", np.ones(3, dtype=bool))] + [
        (f"ap50_{s}", np.arange(3) == i) for i, s in enumerate(("slow", "medium", "fast"))]
    for key, in_split in checks:
        expected = _reference_split_ap(gt, dets, in_split, miou)
        got = [result["per_class"][n][key] for n in names]
        assert got == pytest.approx(expected, abs=1e-12), key


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "tools" / "eval_vid.py"), *args], cwd=REPO,
                          env={"PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)


def test_cli_end_to_end(tmp_path: Path) -> None:
    b = two_tracks()
    ann, dets, out = tmp_path / "ann.json", tmp_path / "dets.json", tmp_path / "out" / "REPORT.json"
    ann.write_text(json.dumps(b.gt))
    dets.write_text(json.dumps(gt_as_dets(b.gt)))
    proc = _run_cli(str(dets), "--ann", str(ann), "--out", str(out), "--convention", "coco")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    for key in ("ap", "ap50", "devkit_map", "ap50_slow", "ap50_medium", "ap50_fast", "per_class"):
        assert key in report
    assert report["ap50"] == pytest.approx(1.0)
    md = (tmp_path / "out" / "REPORT.md").read_text()
    assert "| slow |" in md and "| dog |" in md

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([det(12345, 1, (0.0, 0.0, 5.0, 5.0), 0.5)]))
    proc = _run_cli(str(bad), "--ann", str(ann), "--out", str(out))
    assert proc.returncode == 2 and "bad.json" in proc.stderr and "12345" in proc.stderr
    proc = _run_cli(str(tmp_path / "missing.json"), "--ann", str(ann), "--out", str(out))
    assert proc.returncode == 2 and "missing.json" in proc.stderr
    bad.write_text("{not json")
    proc = _run_cli(str(dets), "--ann", str(bad), "--out", str(out))
    assert proc.returncode == 2 and "bad.json" in proc.stderr and "not valid json" in proc.stderr


def test_vid_metric_process_and_compute(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    try:
        from tsmdet.evaluation.vid_mmdet_metric import VIDMetric
    except ImportError as err:  # mmdet imports mmcv, which may be missing on a slim install
        pytest.skip(f"mmdet not importable: {err}")
    b = two_tracks()
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(b.gt))
    metric = VIDMetric(ann_file=str(ann), outfile_prefix=str(tmp_path / "res" / "vid"), convention="coco")
    metric.dataset_meta = {"classes": ("cat", "dog", "fox")}
    by_image: dict[int, list[dict]] = {}
    for a in b.gt["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    samples = []
    for img_id, anns in by_image.items():
        xywh = torch.tensor([a["bbox"] for a in anns])
        samples.append({"img_id": img_id, "ori_shape": (480, 640), "pred_instances": {
            "bboxes": torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1),
            "scores": torch.ones(len(anns)),
            "labels": torch.tensor([a["category_id"] - 1 for a in anns])}})
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    assert metrics["ap50"] == pytest.approx(1.0) and metrics["devkit_map"] == pytest.approx(1.0)
    assert metrics["ap50_slow"] == pytest.approx(1.0) and metrics["ap50_fast"] == pytest.approx(1.0)
    assert all(isinstance(v, float) for v in metrics.values())
    assert (tmp_path / "res" / "vid.bbox.json").is_file() and (tmp_path / "res" / "vid.REPORT.md").is_file()
