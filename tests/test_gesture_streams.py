"""Event-level scoring of the online gesture model on sample-like streams (tsmdet/apis/gesture_streams.py)."""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from tsmdet.apis.gesture_streams import evaluate_gesture_streams, score_events, write_report

REPO = Path(__file__).resolve().parents[1]
SPANS = [("no_gesture", 0, 9), ("swipe_left", 10, 19), ("no_gesture", 20, 29), ("zoom_in", 30, 39),
         ("no_gesture", 40, 49), ("swipe_left", 50, 59)]


def _event(name: str, start: int, end: int) -> dict:
    return {"event": name, "start": start, "end": end}


def test_found_needs_the_label_overlapping_the_span_and_the_rest_is_spurious():
    events = [_event("swipe_left", 15, 22), _event("zoom_out", 31, 35),  # zoom read the wrong way
              _event("swipe_left", 59, 61), _event("swipe_up", 44, 46)]  # a late hit; an event in a gap
    score = score_events(SPANS, events, seed=3)
    assert score.found == {"swipe_left": True, "zoom_in": False}
    assert score.spurious == [_event("zoom_out", 31, 35), _event("swipe_up", 44, 46)]
    assert not score.meets_target() and not score.meets_target(skip=("zoom_in",))  # two spurious
    one_miss = score_events(SPANS, [_event("swipe_left", 12, 14), _event("zoom_in", 39, 40)])
    assert one_miss.found == {"swipe_left": False, "zoom_in": True}  # the second swipe_left run has no event
    assert one_miss.meets_target(skip=("swipe_left",)) and not one_miss.meets_target()


def test_shipped_model_on_two_streams_through_the_deployed_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TSMDET_CACHE", str(tmp_path / "cache"))
    from tsmdet.apis.recognition_defaults import default_recognition_onnx

    report = evaluate_gesture_streams(default_recognition_onnx(), seeds=[0, 1], work_dir=tmp_path)
    summary = report.summary()
    assert summary["streams"] == 2 and set(summary["found"]) == {
        "swipe_left", "swipe_right", "rotate_clockwise", "zoom_in", "swipe_up"}
    assert summary["spurious_per_stream"] == sum(len(s.spurious) for s in report.streams) / 2
    sample = report.streams[0]  # seed 0 is the built-in sample: what tests/test_sample_gestures.py checks
    assert sample.found["swipe_left"] and sample.found["swipe_up"]
    assert all(e["start"] <= e["end"] for s in report.streams for e in s.events)
    write_report(report, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["summary"] == summary


def test_cli_seed_ranges():
    spec = importlib.util.spec_from_file_location("eval_gesture_streams", REPO / "tools" / "eval_gesture_streams.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.seed_list("1-3,7") == [1, 2, 3, 7]
    for bad in ("x", "-2", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            tool.seed_list(bad)
