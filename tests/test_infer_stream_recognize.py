"""tools/infer_stream.py --task recognize end to end: per-frame JSONL (raw + smoothed top-5), gesture events,
a corrupt frame skipped and counted with the shift state kept (the frame is as if absent)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from random_recognizer import save_random_recognizer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one OpenMP thread
CONFIG = ROOT / "configs/recognition/synthetic/tsm_r18_gestures_online.py"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A random-weight past-shift gesture recognizer exported by tools/export_onnx.py."""
    sys.path.insert(0, str(ROOT / "tools"))
    import export_onnx

    tmp = tmp_path_factory.mktemp("rec_stream")
    save_random_recognizer(CONFIG, tmp / "rec.pth", fc_std=0.5)
    assert export_onnx.main([str(CONFIG), str(tmp / "rec.pth"), "--out", str(tmp / "rec.onnx")]) == 0
    return tmp / "rec.onnx"


def _infer_stream(args: list[str]) -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    import infer_stream

    return infer_stream.main(args)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_recognize_video_writes_frames_smoothed_top5_and_events(model, tmp_path):
    from tsmdet.apis.recognition_defaults import write_gesture_video

    video = tmp_path / "gestures.mp4"
    spans = write_gesture_video(video, ("no_gesture", "swipe_left", "no_gesture", "zoom_in"),
                                frames_per_gesture=12)
    n = spans[-1][2] + 1
    out = tmp_path / "out"
    rc = _infer_stream([str(video), "--task", "recognize", "--engine", "onnx", "--model", str(model),
                        "--out-dir", str(out), "--summary-json", str(tmp_path / "summary.json")])
    assert rc == 0
    frames = _lines(out / "gestures.onnx.jsonl")
    assert [f["frame"] for f in frames] == list(range(n))
    for f in frames:
        assert len(f["top5"]) == 5 and f["top5"][0]["score"] >= f["top5"][-1]["score"]
        assert set(f["smoothed"]) == {"label", "class", "score", "top5"}
    # the events are exactly the maximal runs of non-idle smoothed labels (idle = no_gesture = 8)
    labels = [f["smoothed"]["label"] for f in frames]
    runs, start = [], 0
    for i in range(1, n + 1):
        if i == n or labels[i] != labels[start]:
            if labels[start] != 8:
                runs.append((labels[start], start, i - 1))
            start = i
    events = _lines(out / "gestures.onnx.events.jsonl")
    assert [(e["label"], e["start"], e["end"]) for e in events] == runs
    assert all(e["frames"] == e["end"] - e["start"] + 1 for e in events)
    cap = cv2.VideoCapture(str(out / "gestures.onnx.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n
    cap.release()


def test_corrupt_frame_is_skipped_counted_and_state_kept(model, tmp_path):
    from tsmdet.datasets.recognition.synthetic_gestures import render_gesture

    frames = render_gesture("swipe_right", np.random.default_rng(0), 64, 16)
    full, holed = tmp_path / "full", tmp_path / "holed"
    for folder in (full, holed):
        folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(full / f"img_{i:05d}.png"), frame)
        if i != 7:
            cv2.imwrite(str(holed / f"img_{i:05d}.png"), frame)
    (full / "img_00007.png").write_bytes(b"not an image")  # the corrupt frame, mid-stream
    runs = {}
    for folder in (full, holed):
        out = tmp_path / f"out_{folder.name}"
        summary = tmp_path / f"{folder.name}.summary.json"
        assert _infer_stream([str(folder), "--task", "recognition", "--engine", "onnx", "--model", str(model),
                              "--out-dir", str(out), "--summary-json", str(summary)]) == 0
        runs[folder.name] = (_lines(out / f"{folder.name}.onnx.jsonl"), json.loads(summary.read_text()))
    lines, summary = runs["full"]
    assert summary["corrupt"] == 1 and summary["frames"] == 15 and summary["resets"] == 1
    assert len(lines) == 15 and 7 not in [f["frame"] for f in lines]
    # state kept across the skipped frame: every result equals a stream that never had frame 7
    ref = runs["holed"][0]
    for a, b in zip(lines, ref):
        assert [t["label"] for t in a["top5"]] == [t["label"] for t in b["top5"]]
        assert np.allclose([t["score"] for t in a["top5"]], [t["score"] for t in b["top5"]], atol=1e-5)
        assert a["smoothed"]["label"] == b["smoothed"]["label"]


def test_no_argument_run_on_the_shipped_gesture_model(tmp_path, monkeypatch):
    """`infer_stream.py --task recognize` with nothing else: shipped checkpoint -> ONNX in the cache,
    the rendered sample gesture video, smoothed labels and events."""
    from tsmdet.apis.defaults import EXPORT_REVISION
    from tsmdet.apis.recognition_defaults import (
        RECOGNITION_CHECKPOINT,
        SAMPLE_FRAMES_PER_GESTURE,
        SAMPLE_GESTURES,
    )

    assert RECOGNITION_CHECKPOINT.is_file() and RECOGNITION_CHECKPOINT.stat().st_size < 5 * 2**20
    monkeypatch.setenv("TSMDET_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert _infer_stream(["--task", "recognize", "--out-dir", str(out)]) == 0
    assert (tmp_path / "cache" / "models" / f"synthetic_tsm_r18_gestures_online.r{EXPORT_REVISION}.onnx").is_file()
    frames = _lines(next(p for p in out.glob("synthetic_gestures.*.jsonl") if ".events." not in p.name))
    assert len(frames) == SAMPLE_FRAMES_PER_GESTURE * len(SAMPLE_GESTURES)
    events = _lines(next(out.glob("synthetic_gestures.*.events.jsonl")))
    assert events and all(e["event"] != "no_gesture" for e in events)
