"""The newcomer's run: `infer_stream.py --task recognize` (shipped online gesture model, onnx engine,
rendered sample video) recognises every sample gesture, with the right label, inside its span
(the clockwise turn included), and fires at most one event that matches no gesture."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")
MAX_SPURIOUS = 1  # events over the whole sample whose label is not that of a gesture they overlap


def _sample_spans() -> list[tuple[str, int, int]]:
    """(class, first frame, last frame) of each sample gesture, as write_gesture_video lays them out."""
    from tsmdet.apis.recognition_defaults import SAMPLE_FRAMES_PER_GESTURE, SAMPLE_GESTURES

    n = SAMPLE_FRAMES_PER_GESTURE
    return [(name, i * n, (i + 1) * n - 1) for i, name in enumerate(SAMPLE_GESTURES)]


@pytest.fixture(scope="module")
def sample_events(tmp_path_factory) -> list[dict]:
    """The events file of the no-argument run with the onnx engine (export and sample in a fresh cache)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import infer_stream

    tmp = tmp_path_factory.mktemp("sample_gestures")
    mp = pytest.MonkeyPatch()
    mp.setenv("TSMDET_CACHE", str(tmp / "cache"))
    try:
        rc = infer_stream.main(["--task", "recognize", "--engine", "onnx", "--out-dir", str(tmp / "out")])
    finally:
        mp.undo()
    assert rc == 0
    path = tmp / "out" / "synthetic_gestures.onnx.events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _overlaps(event: dict, start: int, end: int) -> bool:
    return event["start"] <= end and event["end"] >= start


def _gesture_params() -> list:
    return [pytest.param(i, id=name) for i, (name, _, _) in enumerate(_sample_spans()) if name != "no_gesture"]


@pytest.mark.parametrize("gesture", _gesture_params())
def test_each_sample_gesture_is_recognised_inside_its_span(sample_events, gesture):
    name, start, end = _sample_spans()[gesture]
    found = [e for e in sample_events if _overlaps(e, start, end)]
    assert any(e["event"] == name for e in found), \
        f"{name} (frames {start}-{end}) not recognised; events overlapping it: {found}; all: {sample_events}"


def test_at_most_one_spurious_event_on_the_sample(sample_events):
    gestures = [(n, s, e) for n, s, e in _sample_spans() if n != "no_gesture"]
    spurious = [ev for ev in sample_events
                if not any(ev["event"] == n and _overlaps(ev, s, e) for n, s, e in gestures)]
    assert len(spurious) <= MAX_SPURIOUS, f"spurious events: {spurious}"
    assert all(ev["event"] != "no_gesture" for ev in sample_events)  # idle runs are never events


def test_transition_clips_start_in_another_video_and_keep_their_label(tmp_path):
    """TransitionClipDataset (the shipped model's training clips): the first k frames are the last k
    of another video's clip, the rest and the label are the clip's own; test mode is untouched."""
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope

    from mmdet.registry import DATASETS
    from tsmdet.datasets.recognition.synthetic_gestures import generate_synthetic_actions

    init_default_scope("mmdet")
    generate_synthetic_actions(tmp_path, train_videos=9, val_videos=1, frames=(10, 12), size=32, mp4=False)
    pipeline = [dict(type="SampleSegments", num_segments=8, test_mode=True), dict(type="DecodeFrames"),
                dict(type="PackActionInputs")]  # deterministic clips: comparable frame by frame
    common = dict(data_root=str(tmp_path), ann_file="train_list_tsm.txt", list_format="tsm",
                  data_prefix=dict(video="frames/"), class_names_file="classes.txt", pipeline=pipeline)
    plain = DATASETS.build(dict(type="VideoClassificationDataset", **common))
    clips = [plain[i]["inputs"] for i in range(len(plain))]
    spliced = DATASETS.build(dict(type="TransitionClipDataset", prob=1.0, max_prefix=3, **common))
    np.random.seed(0)
    prefixes = set()
    for i in range(len(spliced)):
        data = spliced[i]
        meta = data["data_samples"].metainfo
        k, j = meta["transition_prefix"], meta["transition_from"]
        prefixes.add(k)
        assert 1 <= k <= 3
        assert torch.equal(data["inputs"][k:], clips[i][k:])
        assert torch.equal(data["inputs"][:k], clips[j][-k:])
        assert int(data["data_samples"].gt_label) == int(plain[i]["data_samples"].gt_label)
    assert len(prefixes) > 1  # k is drawn, not fixed
    testing = DATASETS.build(dict(type="TransitionClipDataset", prob=1.0, test_mode=True, **common))
    assert all(torch.equal(testing[i]["inputs"], clips[i]) for i in range(len(testing)))
    with pytest.raises(ValueError, match="prob"):
        DATASETS.build(dict(type="TransitionClipDataset", prob=1.5, **common))
