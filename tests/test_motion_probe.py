"""The time-reversal probe: 50 % for any per-frame detector, above it only when time is used."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsmdet.evaluation.motion_probe import format_probe, probe_direction
from tsmdet.runtime.engine import Detections

CLASSES = ("car", "bus", "zebra")
FRAMES = 6
BOX_W = 10


def _gt() -> dict:
    """Two videos of 6 frames, 40 px wide: a car moving right by 3 px/frame, a bus moving left."""
    images, annotations = [], []
    for vid, (cat, x0, dx) in enumerate([(1, 2, 3), (2, 28, -3)], start=1):
        for t in range(FRAMES):
            image_id = vid * 100 + t
            images.append({"id": image_id, "video_id": vid, "frame_id": t, "file_name": f"{vid}/{t}.png",
                           "width": 40, "height": 10})
            annotations.append({"id": image_id, "image_id": image_id, "video_id": vid, "instance_id": 1,
                                "category_id": cat, "bbox": [x0 + dx * t, 0, BOX_W, 10]})
    categories = [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)]
    return {"images": images, "annotations": annotations, "categories": categories, "videos": []}


def _read(gt: dict):
    """Frames as 1-D strips whose value is the object's left edge, so a fake engine can 'see' it."""
    boxes = {a["image_id"]: a["bbox"] for a in gt["annotations"]}
    by_name = {im["file_name"]: boxes[im["id"]] for im in gt["images"]}

    def read(path: Path) -> np.ndarray:
        key = "/".join(Path(path).parts[-2:])
        return np.full((1,), by_name[key][0], dtype=np.float64)

    return read


class _FakeEngine:
    """Detects the object where it is; scores car/bus from the image alone or from its motion."""

    def __init__(self, temporal: bool) -> None:
        self.temporal = temporal
        self.last: dict[int, float] = {}

    def reset(self) -> None:
        self.last = {}

    def infer(self, frames, streams):
        out = []
        for img, s in zip(frames, streams):
            x = float(img[0])
            if self.temporal:
                prev = self.last.get(s)
                p_car = 0.5 if prev is None else (0.9 if x > prev else 0.1)
            else:
                p_car = 0.8 if x < 20 else 0.3  # an appearance-like cue that has nothing to do with motion
            self.last[s] = x
            box = np.array([[x, 0, x + BOX_W, 10]] * 2, dtype=np.float32)
            out.append(Detections(box, np.array([p_car, 1 - p_car], np.float32), np.array([0, 1]), CLASSES))
        return out


def test_per_frame_detector_scores_exactly_chance() -> None:
    result = probe_direction(_FakeEngine(temporal=False), _gt(), "/root", read_image=_read(_gt()))
    assert result["num_boxes"] == 2 * FRAMES
    assert result["direction_accuracy"] == pytest.approx(0.5)
    # its per-direction wins are not 50 % (the cue is right forwards, wrong backwards) - only their mean is
    assert result["forward_win"] != pytest.approx(0.5)


def test_detector_that_uses_motion_scores_above_chance() -> None:
    result = probe_direction(_FakeEngine(temporal=True), _gt(), "/root", read_image=_read(_gt()))
    # every frame but each video's first (a tie: no history yet) is right in both directions
    expected = ((FRAMES - 1) + 0.5) / FRAMES
    assert result["forward_win"] == pytest.approx(expected)
    assert result["backward_win"] == pytest.approx(expected)
    assert result["direction_accuracy"] == pytest.approx(expected)
    assert result["mean_margin"] > 0.5
    table = format_probe(result)
    assert "| 12 | all |" in table


def test_probe_needs_a_pair() -> None:
    with pytest.raises(ValueError, match="pair"):
        probe_direction(_FakeEngine(temporal=True), _gt(), "/root", pair=("car",), read_image=_read(_gt()))


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tool():
    """tools/probe_direction.py as a module (tools/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("probe_direction_tool", REPO / "tools" / "probe_direction.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probe_tool_on_the_shipped_model(tool, tiny_vid: Path, tmp_path: Path, one_torch_thread) -> None:
    """tools/probe_direction.py end to end: torch engine, two streams, json written."""
    import json

    out = tmp_path / "probe.json"
    assert tool.main([str(REPO / "configs/synthetic/faster_rcnn_r18_tsm.py"),
                      str(REPO / "checkpoints/synthetic_faster_rcnn_r18_tsm.pth"),
                      "--data-root", str(tiny_vid), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    gt = json.loads((tiny_vid / "annotations" / "imagenet_vid_val.json").read_text())
    pair_ids = {c["id"] for c in gt["categories"] if c["name"] in ("car", "bus")}
    assert result["num_boxes"] == sum(a["category_id"] in pair_ids for a in gt["annotations"]) > 0
    assert 0.0 <= result["direction_accuracy"] <= 1.0
    assert sum(r["num_boxes"] for r in result["by_motion"].values()) == result["num_boxes"]


def test_probe_tool_names_a_missing_annotation_file(tool, tmp_path: Path, caplog) -> None:
    assert tool.main([str(REPO / "configs/synthetic/faster_rcnn_r18_tsm.py"), "x.pth",
                      "--data-root", str(tmp_path)]) == 2
    assert str(tmp_path / "annotations" / "imagenet_vid_val.json") in caplog.text


def test_direction_learnability_runs_reports_and_saves(tiny_vid: Path, tmp_path: Path, one_torch_thread) -> None:
    """A few steps on the tiny set: a curve of accuracies in [0, 1], and a saved model the safe loader reads."""
    import torch

    from tsmdet.apis.direction_learnability import train_direction_classifier
    from tsmdet.utils.checkpoint import load_checkpoint_file

    reports = []
    saved = tmp_path / "direction.pth"
    result = train_direction_classifier(REPO / "configs/synthetic/faster_rcnn_r18_tsm.py", steps=4,
                                        data_root=str(tiny_vid), report_every=2,
                                        on_report=lambda *r: reports.append(r), save_to=str(saved))
    assert [c["step"] for c in result["curve"]] == [r[0] for r in reports]
    assert result["curve"] and all(0.0 <= c["accuracy"] <= 1.0 for c in result["curve"])
    state = load_checkpoint_file(saved)["state_dict"]
    assert any(k.startswith("detector.backbone.") for k in state)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
