"""The online demo's prediction smoothing on hand-written logit sequences (tsmdet.runtime.smoothing)."""
from __future__ import annotations

import numpy as np
import pytest

from tsmdet.runtime.results import Classification
from tsmdet.runtime.smoothing import (
    GestureEvents,
    PredictionSmoother,
    SmoothingConfig,
    SmoothingEngine,
)

K = 5


def onehot(label: int, value: float = 5.0) -> np.ndarray:
    x = np.zeros(K)
    x[label] = value
    return x


def run(cfg: SmoothingConfig, sequence: list[np.ndarray]) -> list[int]:
    smoother = PredictionSmoother(cfg, K)
    return [smoother.update(x).label for x in sequence]


def test_window_sums_logits_before_argmax():
    # 3 strong frames of class 1 then 2 weak frames of class 3: the window of 5 still says 1
    seq = [onehot(1, 4.0)] * 3 + [onehot(3, 1.0)] * 2
    assert run(SmoothingConfig(window=5, agree=1, idle=0), seq) == [1, 1, 1, 1, 1]
    # without a window the raw argmax is shown
    assert run(SmoothingConfig(window=1, agree=1, idle=0), seq) == [1, 1, 1, 3, 3]


def test_window_forgets_frames_older_than_its_length():
    seq = [onehot(1, 10.0)] + [onehot(3, 1.0)] * 4
    # window 3: frame 4 (index 3) no longer sees the strong first frame
    assert run(SmoothingConfig(window=3, agree=1, idle=0), seq) == [1, 1, 1, 3, 3]


def test_masked_class_keeps_previous_label():
    seq = [onehot(1), onehot(4), onehot(4), onehot(2)]
    assert run(SmoothingConfig(window=1, agree=1, masked=(4,), idle=0), seq) == [1, 1, 1, 2]


def test_fold_maps_doing_other_things_to_no_gesture():
    seq = [onehot(0), onehot(3), onehot(0)]
    # idle 2 = "No gesture"; 0 ("Doing other things") folds into it
    assert run(SmoothingConfig(window=1, agree=1, fold={0: 2}, idle=2), seq) == [2, 3, 2]


def test_new_label_needs_the_two_previous_labels_to_agree():
    # history starts [idle, idle]; 1 accepted (previous two agree), then 3 is refused
    # (history ends [idle, 1]: they disagree), next frame 3 accepted ([1, 1] agree).
    seq = [onehot(1), onehot(3), onehot(3), onehot(4)]
    assert run(SmoothingConfig(window=1, agree=2, idle=0), seq) == [1, 1, 3, 3]
    # agree=3 waits one frame more (the 4th frame asks for 4, which is then accepted)
    assert run(SmoothingConfig(window=1, agree=3, idle=0), seq) == [1, 1, 1, 4]


def test_threshold_keeps_previous_label_when_unsure():
    unsure = np.array([0.0, 0.3, 0.0, 0.2, 0.0])  # max softmax ~ 0.25
    seq = [onehot(1, 6.0), unsure * 0 + onehot(3, 0.3)]
    assert run(SmoothingConfig(window=1, agree=1, threshold=0.5, idle=0), seq) == [1, 1]
    assert run(SmoothingConfig(window=1, agree=1, threshold=None, idle=0), seq) == [1, 3]


def test_demo_rules_together_and_history_length():
    cfg = SmoothingConfig(window=2, masked=(4,), fold={0: 2}, agree=2, history=4, idle=2)
    smoother = PredictionSmoother(cfg, K)
    seq = [onehot(0), onehot(1), onehot(1), onehot(4, 20.0), onehot(3, 10.0), onehot(3, 20.0)]
    labels = [smoother.update(x).label for x in seq]
    # 0 folds to 2; window [0,1] ties -> argmax 0 -> 2; [1,1] -> 1 (history [2,2] agree);
    # [1,4]: 4 masked -> keep 1; [4,3]: 4 (20 vs 10) masked -> 1; [3,3] -> 3
    assert labels == [2, 2, 1, 1, 1, 3]
    assert len(smoother.labels) == 4  # history bounded


def test_reset_restores_initial_history():
    cfg = SmoothingConfig(window=3, agree=2, idle=0)
    smoother = PredictionSmoother(cfg, K)
    first = [smoother.update(onehot(2)).label for _ in range(4)]
    smoother.reset()
    assert [smoother.update(onehot(2)).label for _ in range(4)] == first
    assert list(smoother.labels)[:2] == [0, 0]


def test_config_round_trip_through_json_keys_and_validation():
    cfg = SmoothingConfig(window=12, masked=(7, 8, 21, 22, 3), fold={0: 2}, agree=2, history=20, idle=2)
    import json

    back = SmoothingConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    with pytest.raises(ValueError, match="unknown smoothing keys"):
        SmoothingConfig.from_dict({"windw": 3})
    with pytest.raises(ValueError, match="outside"):
        PredictionSmoother(SmoothingConfig(masked=(9,)), K)
    with pytest.raises(ValueError):
        SmoothingConfig(window=0)


def test_gesture_events_from_label_runs():
    events = GestureEvents(idle=0)
    labels = [0, 0, 3, 3, 3, 0, 0, 1, 1, 2]
    closed = [events.update(label, i, i / 10) for i, label in enumerate(labels)]
    got = [(e.label, e.start, e.end) for e in closed if e is not None]
    assert got == [(3, 2, 4), (1, 7, 8)]
    last = events.finish()
    assert (last.label, last.start, last.end) == (2, 9, 9)
    assert last.to_dict(["a", "b", "c"])["event"] == "c"
    assert events.finish() is None


class _FakeEngine:
    """Softmax scores of a fixed logit sequence per stream slot (what a recognition engine returns)."""

    def __init__(self, seq):
        from tsmdet.runtime.meta import ModelMeta

        self.meta = ModelMeta(input_size=(8, 8), classes=tuple("abcde"), task="recognition",
                              output_names=("scores",))
        self.num_streams = 1
        self.seq = seq
        self.i = 0
        self.resets = 0

    def infer(self, frames, streams=None):
        x = self.seq[self.i]
        self.i += 1
        p = np.exp(x - x.max())
        return [Classification(scores=(p / p.sum()).astype(np.float32), classes=self.meta.classes)]

    def reset(self, stream=None):
        self.resets += 1


def test_smoothing_engine_matches_the_policy_on_logits_and_resets_it():
    rng = np.random.default_rng(0)
    seq = [rng.normal(size=K) * 3 for _ in range(10)]
    cfg = SmoothingConfig(window=4, agree=2, idle=0)
    engine = SmoothingEngine(_FakeEngine(seq + seq), cfg)
    got = [engine.infer([None])[0].smoothed_label for _ in seq]
    assert got == run(cfg, seq)  # softmax scores in, the same decisions as on the logits
    engine.reset(0)
    assert engine.engine.resets == 1
    assert [engine.infer([None])[0].smoothed_label for _ in seq] == got
