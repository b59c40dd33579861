"""The two VID metric conventions on hand-built cases: fgfa (devkit / FGFA exact) against coco.

Every expected number is derived by hand in the comments next to it, from the rules in
``tsmdet/evaluation/vid_metric/conventions.py`` (devkit ``eval_vid_detection.m`` and FGFA's
``imagenet_vid_eval_motion.py``): (a) +1 pixel on widths and heights, (b) a box without
neighbours in the motion window is slow under fgfa and fast under coco, (c) frames without
GT enter FGFA's ``empty_weight`` as one motion IoU of 0 each.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tsmdet.evaluation.vid_metric import (
    CONVENTIONS, box_iou_px, compute_motion_iou, evaluate_vid, get_convention, motion_groups,
)

REPO = Path(__file__).resolve().parents[1]
Box = tuple[float, float, float, float]


def scene(boxes: list[tuple[int, int, int, int, Box]], empty: list[tuple[int, int]] = ()) -> dict:
    """CocoVID dict from (video, frame, category, instance, xywh) rows plus frames without GT."""
    gt: dict = {"categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
                "videos": [], "images": [], "annotations": []}
    ids: dict[tuple[int, int], int] = {}
    for video, frame in [(v, f) for v, f, *_ in boxes] + list(empty):
        if (video, frame) not in ids:
            ids[(video, frame)] = len(ids) + 1
            gt["images"].append({"id": ids[(video, frame)], "video_id": video, "frame_id": frame,
                                 "file_name": f"{video}/{frame}.JPEG", "width": 640, "height": 480})
    for video in sorted({v for v, _ in ids}):
        gt["videos"].append({"id": video, "name": f"v{video}"})
    for k, (video, frame, cat, inst, bbox) in enumerate(boxes):
        gt["annotations"].append({"id": k + 1, "image_id": ids[(video, frame)], "category_id": cat,
                                  "instance_id": inst, "bbox": list(bbox), "area": bbox[2] * bbox[3],
                                  "iscrowd": 0})
    return gt


def det(image_id: int, cat: int, bbox: Box, score: float) -> dict:
    return {"image_id": image_id, "category_id": cat, "bbox": list(bbox), "score": score}


def xyxy(*boxes: Box) -> np.ndarray:
    b = np.array(boxes, dtype=np.float64)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


# ---------------------------------------------------------------------- (a) +1 pixel
def test_plus_one_lifts_iou_over_half() -> None:
    # GT x 0..100, y 0..100; detection x 0..100, y 0..49.6.
    # coco: inter 100*49.6 = 4960, union 10000 -> IoU 0.496 < 0.5.
    # fgfa: widths +1: GT 101x101 = 10201, det 101x50.6 = 5110.6 = inter -> IoU 5110.6/10201 = 0.50099.
    gt_box, det_box = (0.0, 0.0, 100.0, 100.0), (0.0, 0.0, 100.0, 49.6)
    a, b = xyxy(gt_box), xyxy(det_box)
    assert box_iou_px(a, b, 0.0)[0] == pytest.approx(0.496)
    assert box_iou_px(a, b, 1.0)[0] == pytest.approx(5110.6 / 10201)
    # The devkit threshold of a 100x100 GT is min(0.5, ...) = 0.5 under both (101^2/111^2 = 0.83).
    gt = scene([(1, 0, 1, 0, gt_box)])
    dets = [det(1, 1, det_box, 0.9)]
    coco, fgfa = evaluate_vid(gt, dets, convention="coco"), evaluate_vid(gt, dets, convention="fgfa")
    assert coco["devkit_map"] == 0.0  # one FP, recall 0
    assert fgfa["devkit_map"] == pytest.approx(1.0)  # one TP, recall 1, precision 1
    assert coco["ap50"] == fgfa["ap50"] == 0.0  # pycocotools (no +1) under both: 0.496 < 0.5


def test_plus_one_moves_a_box_to_another_bucket() -> None:
    # A 10x10 box moving 1.8 px between frames 0 and 1; each box's only neighbour is the other.
    # coco: inter 8.2*10 = 82, union 200-82 = 118 -> motion IoU 0.6949 < 0.7 -> fast.
    # fgfa: 11x11 boxes, inter 9.2*11 = 101.2, union 242-101.2 = 140.8 -> 0.71875 in [0.7, 0.9] -> medium.
    boxes = [(1, 0, 1, 0, (0.0, 0.0, 10.0, 10.0)), (1, 1, 1, 0, (1.8, 0.0, 10.0, 10.0))]
    ones, frames = np.ones(2, dtype=np.int64), np.array([0, 1])
    b = xyxy(*(r[4] for r in boxes))
    assert compute_motion_iou(ones, ones, frames, b, pixel_offset=0.0) == pytest.approx([82 / 118] * 2)
    assert compute_motion_iou(ones, ones, frames, b, pixel_offset=1.0) == pytest.approx([101.2 / 140.8] * 2)
    gt = scene(boxes)
    coco, fgfa = evaluate_vid(gt, [], convention="coco"), evaluate_vid(gt, [], convention="fgfa")
    assert (coco["num_gt_fast"], coco["num_gt_medium"]) == (2, 0)
    assert (fgfa["num_gt_fast"], fgfa["num_gt_medium"]) == (0, 2)


def test_range_edges_are_closed_under_fgfa() -> None:
    # FGFA: ig = (m < lo) | (m > hi) with [0.9, 1] slow, [0.7, 0.9] medium, [0, 0.7] fast.
    miou = np.array([0.7, 0.9, 0.5, 0.95, 0.8])
    group, table = motion_groups(miou, inclusive=True)
    #                          slow   medium fast
    assert table[group].tolist() == [[False, True, True],    # 0.7: medium and fast
                                     [True, True, False],    # 0.9: slow and medium
                                     [False, False, True],
                                     [True, False, False],
                                     [False, True, False]]
    group, table = motion_groups(miou, inclusive=False)  # coco: > 0.9 slow, < 0.7 fast, else medium
    assert table[group].argmax(axis=1).tolist() == [1, 1, 2, 0, 1]


# ---------------------------------------------------------------------- (b) isolated boxes
def test_isolated_box_is_slow_under_fgfa_and_fast_under_coco() -> None:
    # Instance 0 has one box in the whole video: no neighbour within +-10 frames.
    # Instance 1 has boxes in frames 0 and 15: 15 > 10, so neither sees the other.
    gt = scene([(1, 0, 1, 0, (10.0, 10.0, 50.0, 50.0)),
                (1, 0, 2, 1, (200.0, 200.0, 40.0, 40.0)), (1, 15, 2, 1, (200.0, 200.0, 40.0, 40.0))])
    dets = [det(a["image_id"], a["category_id"], tuple(a["bbox"]), 1.0) for a in gt["annotations"]]
    coco, fgfa = evaluate_vid(gt, dets, convention="coco"), evaluate_vid(gt, dets, convention="fgfa")
    assert (coco["num_gt_slow"], coco["num_gt_fast"]) == (0, 3)  # motion IoU 0 -> fast
    assert (fgfa["num_gt_slow"], fgfa["num_gt_fast"]) == (3, 0)  # motion IoU 1.0 -> slow
    assert coco["ap50_fast"] == pytest.approx(1.0) and coco["ap50_slow"] is None
    assert fgfa["ap50_slow"] == pytest.approx(1.0) and fgfa["ap50_fast"] is None


# ---------------------------------------------------------------------- (c) frames without GT
def frames_without_gt_scene() -> tuple[dict, list[dict]]:
    """Video 1, frames 0-1: a static cat (slow pair) and a jumping cat (fast pair); video 2 frame 0: no GT."""
    static, jump0, jump1 = (0.0, 0.0, 100.0, 100.0), (300.0, 0.0, 20.0, 20.0), (400.0, 0.0, 20.0, 20.0)
    gt = scene([(1, 0, 1, 0, static), (1, 1, 1, 0, static), (1, 0, 1, 1, jump0), (1, 1, 1, 1, jump1)],
               empty=[(2, 0)])
    dets = [det(3, 1, (50.0, 50.0, 30.0, 30.0), 0.95),  # on the frame without GT
            det(1, 1, static, 0.9), det(2, 1, static, 0.8),  # the slow GT
            det(1, 1, jump0, 0.7), det(2, 1, jump1, 0.6)]  # the fast GT
    return gt, dets


def test_frames_without_gt() -> None:
    gt, dets = frames_without_gt_scene()
    coco, fgfa = evaluate_vid(gt, dets, convention="coco"), evaluate_vid(gt, dets, convention="fgfa")
    for r in (coco, fgfa):
        assert r["num_images"] == 3 and r["num_gt"] == 4  # the frame without GT is scored
        assert (r["num_gt_slow"], r["num_gt_fast"]) == (2, 2)  # static pair IoU 1, jumping pair IoU 0
    # Devkit mAP: the 0.95 detection has no GT -> FP 1 (fgfa's all-range weight (4+1)/(4+1) = 1 too),
    # then 4 TP: precision 0, 1/2, 2/3, 3/4, 4/5 at recall 0, .25, .5, .75, 1 -> envelope 4/5 -> AP 0.8.
    assert coco["devkit_map"] == pytest.approx(0.8) and fgfa["devkit_map"] == pytest.approx(0.8)
    # In a split, the 0.95 detection is FP with weight w = empty_weight; the split's two TPs follow and
    # the two detections of ignored GT weigh 0: precision 2/(2+w) at recall 1 and 1/(1+w) < 2/(2+w) at
    # recall 1/2, so AP = 2/(2+w).
    # coco: w = GT in split / all GT = 2/4 for slow and for fast -> AP 2/2.5 = 0.8.
    assert coco["ap50_slow"] == pytest.approx(0.8) and coco["ap50_fast"] == pytest.approx(0.8)
    # fgfa: the empty frame adds one motion IoU 0 to FGFA's all_motion_iou (5 entries):
    # slow w = 2/5 -> AP 2/2.4 = 0.8333; fast (range [0, 0.7] holds the 0) w = 3/5 -> AP 2/2.6 = 0.7692.
    assert fgfa["ap50_slow"] == pytest.approx(2 / 2.4) and fgfa["ap50_fast"] == pytest.approx(2 / 2.6)
    # COCO AP50 ignores motion: the FP first, then 4 exact TPs; pycocotools' 101-point precision is
    # 4/5 from recall 0.25 on and 4/5 (envelope) below -> 0.8 under both conventions.
    assert coco["ap50"] == fgfa["ap50"] == pytest.approx(0.8)


# ---------------------------------------------------------------------- end to end
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "tools" / "eval_vid.py"), *args], cwd=REPO,
                          env={"PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)


def test_end_to_end_fgfa_vs_coco_reports(tmp_path: Path) -> None:
    # The (a) pair, isolated in its video (so (b) applies), plus the (c) scene in other videos.
    gt, dets = frames_without_gt_scene()
    first_new = len(gt["images"]) + 1
    gt["videos"].append({"id": 9, "name": "v9"})
    gt["images"].append({"id": first_new, "video_id": 9, "frame_id": 0, "file_name": "9/0.JPEG",
                         "width": 640, "height": 480})
    gt["annotations"].append({"id": 99, "image_id": first_new, "category_id": 2, "instance_id": 9,
                              "bbox": [0.0, 0.0, 100.0, 100.0], "area": 1e4, "iscrowd": 0})
    dets.append(det(first_new, 2, (0.0, 0.0, 100.0, 49.6), 0.9))
    ann, det_path = tmp_path / "ann.json", tmp_path / "dets.json"
    ann.write_text(json.dumps(gt))
    det_path.write_text(json.dumps(dets))
    reports = {}
    for conv in CONVENTIONS:
        out = tmp_path / conv / "REPORT.json"
        proc = _cli(str(det_path), "--ann", str(ann), "--out", str(out), "--convention", conv)
        assert proc.returncode == 0, proc.stderr
        reports[conv] = json.loads(out.read_text())
        assert reports[conv]["convention"] == conv
        assert f"Convention: {conv}." in (tmp_path / conv / "REPORT.md").read_text()
    coco, fgfa = reports["coco"], reports["fgfa"]
    assert coco["ap"] == fgfa["ap"] and coco["ap50"] == fgfa["ap50"]  # pycocotools under both
    # dog: one GT, one detection at IoU 0.496 (coco) / 0.501 (fgfa); isolated -> coco fast, fgfa slow.
    assert coco["per_class"]["dog"]["devkit_ap"] == 0.0 and coco["per_class"]["dog"]["ap50_fast"] == 0.0
    assert coco["per_class"]["dog"]["ap50_slow"] is None
    assert fgfa["per_class"]["dog"]["devkit_ap"] == pytest.approx(1.0)
    assert fgfa["per_class"]["dog"]["ap50_slow"] == pytest.approx(1.0)
    assert fgfa["per_class"]["dog"]["ap50_fast"] is None
    # Now 5 GT (4 cat, 1 dog) and still one frame without GT (video 9's frame holds the dog).
    # cat, slow split. coco: slow GT = the 2 static cats, w = 2/5 -> AP 2/2.4.
    # fgfa: slow GT = 2 cats + the isolated dog, w = 3/(5+1) = 0.5 -> AP 2/2.5.
    assert coco["per_class"]["cat"]["ap50_slow"] == pytest.approx(2 / 2.4)
    assert fgfa["per_class"]["cat"]["ap50_slow"] == pytest.approx(2 / 2.5)
    # cat, fast split. coco: fast GT = 2 cat + 1 dog (isolated) -> w = 3/5 -> 2/2.6.
    # fgfa: fast GT = 2 cat, plus the empty frame's 0 -> w = 3/6 -> 2/2.5.
    assert coco["per_class"]["cat"]["ap50_fast"] == pytest.approx(2 / 2.6)
    assert fgfa["per_class"]["cat"]["ap50_fast"] == pytest.approx(2 / 2.5)
    # devkit mAP over cat (0.8 under both, see test_frames_without_gt) and dog (coco 0, fgfa 1).
    assert coco["devkit_map"] == pytest.approx(0.4) and fgfa["devkit_map"] == pytest.approx(0.9)


def test_bad_convention_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fgfa"):
        get_convention("voc")
    with pytest.raises(ValueError, match="convention"):
        evaluate_vid(scene([(1, 0, 1, 0, (0.0, 0.0, 5.0, 5.0))]), [], convention="voc")
    proc = _cli("d.json", "--ann", "a.json", "--out", str(tmp_path / "r.json"), "--convention", "voc")
    assert proc.returncode == 2 and "--convention" in proc.stderr


# ---------------------------------------------------------------------- against a loop port of FGFA
def _fgfa_iou(a: list[float], b: list[float]) -> float:
    """FGFA's ``boxoverlap`` on x1, y1, x2, y2 boxes: +1 on every width and height."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    ua = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - iw * ih
    return iw * ih / ua


def _fgfa_reference(gt: dict, dets: list[dict]) -> dict[str, list]:
    """Per-class AP of FGFA's ``vid_eval_motion`` for the all-range and the three motion ranges, by loops.

    Motion IoU as the .mat holds it: mean IoU with the instance's boxes within +-10 frames
    (itself excluded), 1.0 without any; every frame without boxes adds one motion IoU 0 to
    ``all_motion_iou``.
    """
    xyxy = lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]]  # noqa: E731
    frame_of = {im["id"]: (im["video_id"], im["frame_id"]) for im in gt["images"]}
    anns = gt["annotations"]
    miou = []
    for a in anns:
        video, frame = frame_of[a["image_id"]]
        ious = [_fgfa_iou(xyxy(a["bbox"]), xyxy(o["bbox"])) for o in anns
                if o is not a and o["instance_id"] == a["instance_id"] and frame_of[o["image_id"]][0] == video
                and abs(frame_of[o["image_id"]][1] - frame) <= 10]
        miou.append(float(np.mean(ious)) if ious else 1.0)
    empty_frames = [im for im in gt["images"] if not any(a["image_id"] == im["id"] for a in anns)]
    all_motion_iou = miou + [0.0] * len(empty_frames)
    out = {}
    ranges = {"all": (0.0, 1.0), "fast": (0.0, 0.7), "medium": (0.7, 0.9), "slow": (0.9, 1.0)}  # FGFA's
    for key, (lo, hi) in ranges.items():
        empty_weight = sum(lo <= m <= hi for m in all_motion_iou) / len(all_motion_iou)
        rows = []  # score, category, tp, fp
        for im in gt["images"]:
            gts = [(a, not lo <= m <= hi) for a, m in zip(anns, miou) if a["image_id"] == im["id"]]
            detected = [False] * len(gts)
            for d in sorted((d for d in dets if d["image_id"] == im["id"]), key=lambda d: -d["score"]):
                ovmax, kmax, ov_ig, ov_nig = -1.0, -1, -1.0, -1.0
                for k, (a, ignored) in enumerate(gts):
                    ov = _fgfa_iou(xyxy(d["bbox"]), xyxy(a["bbox"]))
                    w, h = a["bbox"][2] + 1, a["bbox"][3] + 1
                    thr = min(0.5, w * h / ((w + 10) * (h + 10)))
                    if ov >= thr and ov > ovmax and not detected[k] and d["category_id"] == a["category_id"]:
                        ovmax, kmax = ov, k
                    if ignored and ov > ov_ig:
                        ov_ig = ov
                    if not ignored and ov > ov_nig:
                        ov_nig = ov
                if kmax >= 0:
                    detected[kmax] = True
                    tp, fp = float(not gts[kmax][1]), 0.0
                elif ov_nig > ov_ig:
                    tp, fp = 0.0, 1.0
                elif ov_ig > ov_nig:
                    tp, fp = 0.0, 0.0
                elif not gts:
                    tp, fp = 0.0, empty_weight
                else:
                    tp, fp = 0.0, sum(ig for _, ig in gts) / len(gts)
                rows.append((d["score"], d["category_id"], tp, fp))
        aps = []
        for c in gt["categories"]:
            npos = sum(1 for a, m in zip(anns, miou) if a["category_id"] == c["id"] and lo <= m <= hi)
            mine = sorted((r for r in rows if r[1] == c["id"]), key=lambda r: -r[0])
            tp, fp = np.cumsum([r[2] for r in mine]), np.cumsum([r[3] for r in mine])
            if npos == 0:
                aps.append(None)
                continue
            rec, prec = tp / npos, tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
            mrec, mpre = np.concatenate(([0.0], rec, [1.0])), np.concatenate(([0.0], prec, [0.0]))
            for i in range(len(mpre) - 1, 0, -1):
                mpre[i - 1] = max(mpre[i - 1], mpre[i])
            i = np.flatnonzero(mrec[1:] != mrec[:-1])
            aps.append(float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])))
        out[key] = aps
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fgfa_convention_matches_a_loop_port_of_fgfa(seed: int) -> None:
    """Random scenes with isolated boxes, range-edge-prone small boxes, frames without GT, noisy dets."""
    rng = np.random.default_rng(seed)
    rows, empty = [], []
    for video in range(3):
        for inst in range(3):
            cat, xy = int(rng.integers(1, 3)), rng.uniform(0, 300, 2)
            wh, speed = rng.uniform(4, 60, 2), rng.choice([0.3, 3.0, 15.0])
            start = int(rng.integers(0, 4))
            for frame in range(start, start + int(rng.integers(1, 14))):
                xy = xy + rng.normal(0, speed, 2)
                rows.append((video, frame, cat, 10 * video + inst, (float(xy[0]), float(xy[1]), float(wh[0]),
                                                                    float(wh[1]))))
        empty.append((video, 40))
    gt = scene(rows, empty)
    dets = []
    for a in gt["annotations"]:
        for _ in range(int(rng.integers(0, 3))):
            x, y, w, h = np.array(a["bbox"]) + rng.normal(0, 0.12 * np.sqrt(a["area"]), 4)
            cat = a["category_id"] if rng.random() < 0.85 else 3 - a["category_id"]
            dets.append(det(a["image_id"], cat, (x, y, abs(w) + 1, abs(h) + 1), float(rng.random())))
    for im in gt["images"]:
        x, y = rng.uniform(0, 400, 2)
        dets.append(det(im["id"], int(rng.integers(1, 3)), (x, y, 30.0, 30.0), float(rng.random())))
    result = evaluate_vid(gt, dets, convention="fgfa")
    expected = _fgfa_reference(gt, dets)
    names = [c["name"] for c in gt["categories"]]
    checks = [("devkit_ap", expected["all"])]
    checks += [(f"ap50_{s}", expected[s]) for s in ("slow", "medium", "fast")]
    for key, ref in checks:
        got = [result["per_class"][n][key] for n in names]
        assert got == pytest.approx(ref, abs=1e-12), key


# ---------------------------------------------------------------------- VIDMetric and tools/test.py wiring
def test_vid_metric_and_configure_test_pass_the_convention(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from mmengine.config import Config

    from tsmdet.apis.runner import configure_test
    from tsmdet.evaluation.vid_mmdet_metric import VIDMetric

    # One isolated 100x100 dog and a detection at IoU 0.496 / 0.501 (see test_plus_one_lifts_iou_over_half).
    gt = scene([(1, 0, 2, 0, (0.0, 0.0, 100.0, 100.0))])
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(gt))
    sample = {"img_id": 1, "pred_instances": {"bboxes": torch.tensor([[0.0, 0.0, 100.0, 49.6]]),
                                              "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}}
    metrics = {}
    for conv in CONVENTIONS:
        metric = VIDMetric(ann_file=str(ann), classes=("cat", "dog"), convention=conv)
        metric.process({}, [sample])
        metrics[conv] = metric.compute_metrics(metric.results)
    assert metrics["coco"]["devkit_map"] == 0.0 and metrics["fgfa"]["devkit_map"] == pytest.approx(1.0)
    assert metrics["coco"]["ap50_fast"] == 0.0 and np.isnan(metrics["coco"]["ap50_slow"])
    assert metrics["fgfa"]["ap50_slow"] == pytest.approx(1.0) and np.isnan(metrics["fgfa"]["ap50_fast"])
    assert metrics["coco"]["ap50"] == metrics["fgfa"]["ap50"] == 0.0
    with pytest.raises(ValueError, match="convention"):
        VIDMetric(ann_file=str(ann), convention="voc")

    cfg = Config(dict(model=dict(type="OnlineVideoDetector"), test_dataloader=dict(dataset=dict()),
                      test_evaluator=[dict(type="VIDMetric", ann_file=str(ann)), dict(type="Other")]))
    configure_test(cfg, out_prefix=str(tmp_path / "vid"))
    assert "convention" not in cfg.test_evaluator[0]  # None keeps the config's (default fgfa)
    configure_test(cfg, convention="coco")
    assert cfg.test_evaluator[0].convention == "coco" and "convention" not in cfg.test_evaluator[1]
