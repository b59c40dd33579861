"""Accuracy metric against hand-computed numbers; AccuracyMetric writes JSON, Markdown and the PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tsmdet.evaluation.recognition.accuracy import evaluate_recognition, topk_accuracy

CLASSES = ("c0", "c1", "c2", "c3", "c4", "c5")
# 5 videos, 6 classes. Hand-worked: ranks of the true class 1, 2, 6, 2, 1 ->
# top-1 2/5, top-5 4/5; per class c0 1/2, c1 1/2, c2 0/1 -> mean class 1/3;
# pair (c0, c1): videos 0, 1, 3, 4 -> true beats partner in 0, 3, 4 -> 3/4.
SCORES = np.array([
    [0.90, 0.02, 0.02, 0.02, 0.02, 0.02],  # label 0, predicted 0
    [0.50, 0.30, 0.10, 0.05, 0.03, 0.02],  # label 1, predicted 0 (true class second)
    [0.30, 0.25, 0.00, 0.20, 0.15, 0.10],  # label 2, predicted 0 (true class last)
    [0.20, 0.05, 0.10, 0.40, 0.15, 0.10],  # label 0, predicted 3 (true class second)
    [0.10, 0.60, 0.10, 0.10, 0.05, 0.05],  # label 1, predicted 1
])
LABELS = np.array([0, 1, 2, 0, 1])


def test_hand_computed_accuracies():
    assert topk_accuracy(SCORES, LABELS, (1, 2, 5)) == {1: 0.4, 2: 0.8, 5: 0.8}
    result = evaluate_recognition(SCORES, LABELS, CLASSES, pairs=[("c0", "c1")])
    assert result["top1"] == pytest.approx(0.4) and result["top5"] == pytest.approx(0.8)
    assert result["mean_class_accuracy"] == pytest.approx(1 / 3)
    assert [result["per_class"][c]["accuracy"] for c in CLASSES] == [0.5, 0.5, 0.0, None, None, None]
    assert result["per_class"]["c0"]["most_confused"] == "c3" and result["per_class"]["c3"]["num_videos"] == 0
    assert result["pairs"]["c0 / c1"] == {"accuracy": 0.75, "num_videos": 4}
    cm = np.array(result["confusion"])
    assert cm[0].tolist() == [1, 0, 0, 1, 0, 0] and cm[1].tolist() == [1, 1, 0, 0, 0, 0]
    assert cm[2].tolist() == [1, 0, 0, 0, 0, 0] and cm.sum() == 5


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="classes"):
        evaluate_recognition(SCORES, LABELS, CLASSES[:5])
    with pytest.raises(ValueError, match="pair classes"):
        evaluate_recognition(SCORES, LABELS, CLASSES, pairs=[("c0", "nope")])


def test_accuracy_metric_writes_the_report(tmp_path: Path):
    from tsmdet.evaluation.recognition import AccuracyMetric
    from tsmdet.structures import ActionDataSample

    metric = AccuracyMetric(topk=(1, 5), pairs=[("c0", "c1")], outfile_prefix=str(tmp_path / "acc"))
    metric.dataset_meta = {"classes": CLASSES}
    samples = []
    for i, (score, label) in enumerate(zip(SCORES, LABELS)):
        s = ActionDataSample(metainfo=dict(video_id=i, filename=f"v{i}.mp4", skipped=False, num_bad_frames=i % 2))
        s.set_gt_label(int(label)).set_pred_score(torch.tensor(score, dtype=torch.float32))
        samples.append(s.to_dict())
    bad = ActionDataSample(metainfo=dict(video_id=5, filename="broken.mp4", skipped=True, num_bad_frames=0))
    bad.set_gt_label(2).set_pred_score(torch.tensor([0.0, 0.0, 1.0, 0, 0, 0]))  # would be right: must not count
    metric.process({}, samples[:3])
    metric.process({}, [*samples[3:], bad.to_dict()])
    out = metric.evaluate(6)
    assert out["acc/top1"] == pytest.approx(0.4) and out["acc/top5"] == pytest.approx(0.8)
    assert out["acc/mean_class_accuracy"] == pytest.approx(1 / 3) and out["acc/pair_accuracy"] == pytest.approx(0.75)
    report = json.loads((tmp_path / "acc.REPORT.json").read_text())
    assert report["num_videos"] == 5 and report["skipped"] == ["broken.mp4"] and report["num_bad_frames"] == 2
    md = (tmp_path / "acc.REPORT.md").read_text()
    assert "| 40.00 | 80.00 | 33.33 |" in md and "| c0 / c1 | 4 | 75.00 |" in md and "broken.mp4" in md
    assert "acc.confusion.png" in md
    assert (tmp_path / "acc.confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
