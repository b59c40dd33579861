"""tools/infer_stream.py end to end on the built-in model: engines agree, bad input is handled."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tsmdet.apis.defaults import DEFAULT_CHECKPOINT, default_video

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 24


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    if os.environ.get("TSMDET_CACHE"):
        env["TSMDET_CACHE"] = os.environ["TSMDET_CACHE"]  # the built-in model's cache, as in this process
    return subprocess.run([sys.executable, str(ROOT / "tools" / "infer_stream.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sample_video() -> Path:
    assert DEFAULT_CHECKPOINT.is_file(), "the shipped checkpoint is part of the repo"
    return default_video()


def test_onnx_and_torch_engines_give_the_same_detections(tmp_path, sample_video):
    outputs = {}
    for engine in ("onnx", "torch"):
        res = _run(str(sample_video), "--engine", engine, "--max-frames", str(FRAMES), "--out-dir", str(tmp_path),
                   "--summary-json", str(tmp_path / f"{engine}.json"))
        assert res.returncode == 0, res.stderr[-2000:]
        outputs[engine] = _lines(tmp_path / f"{sample_video.stem}.{engine}.jsonl")
        assert (tmp_path / f"{sample_video.stem}.{engine}.mp4").stat().st_size > 0
        summary = json.loads((tmp_path / f"{engine}.json").read_text())
        assert summary["frames"] == FRAMES
    onnx, torch_ = outputs["onnx"], outputs["torch"]
    assert len(onnx) == len(torch_) == FRAMES
    total = sum(len(line["detections"]) for line in onnx)
    assert total > FRAMES  # the trained model finds the objects
    for a, b in zip(onnx, torch_):
        strong_a = [d for d in a["detections"] if d["score"] > 0.1]
        strong_b = [d for d in b["detections"] if d["score"] > 0.1]
        assert len(strong_a) == len(strong_b)
        for da, db in zip(sorted(strong_a, key=lambda d: -d["score"]), sorted(strong_b, key=lambda d: -d["score"])):
            assert da["label"] == db["label"]
            np.testing.assert_allclose(da["box"], db["box"], atol=0.5)
            assert abs(da["score"] - db["score"]) < 1e-3


def test_missing_file_and_unreadable_video_and_camera(tmp_path):
    res = _run(str(tmp_path / "nope.mp4"), "--engine", "onnx", "--out-dir", str(tmp_path))
    assert res.returncode == 2 and "nope.mp4" in res.stderr
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    res = _run(str(junk), "--engine", "onnx", "--out-dir", str(tmp_path))
    assert res.returncode == 2 and "junk.mp4" in res.stderr
    res = _run("7", "--engine", "onnx", "--out-dir", str(tmp_path))
    assert res.returncode == 2 and "camera 7" in res.stderr


def test_engine_not_installed_says_what_is_missing(tmp_path):
    res = _run("--engine", "trt", "--out-dir", str(tmp_path))
    assert res.returncode == 2
    assert "TensorRT is not installed" in res.stderr and "pip install tensorrt" in res.stderr


def test_corrupt_frame_mid_folder_is_skipped_and_outputs_complete(tmp_path, sample_video):
    folder = tmp_path / "frames"
    folder.mkdir()
    cap = cv2.VideoCapture(str(sample_video))
    for i in range(8):
        ok, frame = cap.read()
        assert ok
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), frame)
    cap.release()
    (folder / "0004.jpg").write_bytes(b"\xff\xd8 broken jpeg")
    res = _run(str(folder), "--engine", "onnx", "--out-dir", str(tmp_path), "--summary-json", str(tmp_path / "s.json"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert "0004.jpg" in res.stderr
    lines = _lines(tmp_path / "frames.onnx.jsonl")
    assert len(lines) == 7
    assert [line["frame"] for line in lines] == [0, 1, 2, 3, 5, 6, 7]  # a gap at the broken file, no shift
    assert [line["file"] for line in lines] == [f"{i:04d}.jpg" for i in (0, 1, 2, 3, 5, 6, 7)]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["corrupt"] == 1 and summary["skipped"] == ["0004.jpg"] and summary["end_reason"] == "end_of_stream"
    video = cv2.VideoCapture(str(tmp_path / "frames.onnx.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 7
