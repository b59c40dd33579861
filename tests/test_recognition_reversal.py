"""Time reversal on the synthetic gestures: it leaves a TSN (no shift) prediction unchanged and flips
the shipped TSM recognizer's prediction within the direction pairs it has learned."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tsmdet.datasets.recognition.synthetic_gestures import DIRECTION_PAIRS, GESTURE_CLASSES, render_gesture

REPO = Path(__file__).resolve().parents[1]
TSM_CONFIG = REPO / "configs/recognition/synthetic/tsm_r18_gestures.py"
TSN_CONFIG = REPO / "configs/recognition/synthetic/tsn_r18_gestures.py"
TSM_CKPT = REPO / "checkpoints/synthetic_tsm_r18_gestures.pth"
FRAMES = 24  # test centres int(1.5 + 3 i) are symmetric: a reversed video samples the same frames

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def scores(model, frames: list[np.ndarray]) -> dict[str, float]:
    from tsmdet.apis import inference_recognizer

    return dict(inference_recognizer(model, frames, topk=len(GESTURE_CLASSES)))


def test_tsn_is_blind_to_time_reversal():
    from tsmdet.apis import init_recognizer

    torch.manual_seed(0)
    model = init_recognizer(TSN_CONFIG)  # random weights: the property holds for any weights
    for seed, name in enumerate(("swipe_right", "rotate_anticlockwise", "zoom_in")):
        clip = render_gesture(name, np.random.default_rng(seed), 64, FRAMES)
        forward, backward = scores(model, clip), scores(model, clip[::-1])
        assert all(abs(forward[c] - backward[c]) < 1e-5 for c in GESTURE_CLASSES)
    torch.manual_seed(0)
    shifted = init_recognizer(TSM_CONFIG)  # the same network with the shift does see the order
    for module in shifted.modules():  # mmdet's zero_init_residual silences every residual branch at init
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.fill_(1.0)
    clip = render_gesture("swipe_right", np.random.default_rng(0), 64, FRAMES)
    forward, backward = scores(shifted, clip), scores(shifted, clip[::-1])
    assert max(abs(forward[c] - backward[c]) for c in GESTURE_CLASSES) > 1e-4


@pytest.mark.skipif(not TSM_CKPT.is_file(), reason="shipped synthetic TSM checkpoint missing")
def test_tsm_prediction_flips_with_time():
    """On the pairs the shipped TSM has learned (swipes and zoom, 100 % pair accuracy in
    docs/experiments.md) a reversed clip flips the prediction every time. The turn pair is
    left out: the shipped model is at 60 % on it (documented there), not a property to assert."""
    from tsmdet.apis import init_recognizer

    model = init_recognizer(TSM_CONFIG, str(TSM_CKPT))
    learned = [pair for pair in DIRECTION_PAIRS if "rotate_clockwise" not in pair]
    for backward_class, forward_class in learned:
        for seed in (101, 102):
            clip = render_gesture(forward_class, np.random.default_rng(seed), 64, FRAMES)
            forward, backward = scores(model, clip), scores(model, clip[::-1])
            assert forward[forward_class] > forward[backward_class], (forward_class, seed)
            assert backward[backward_class] > backward[forward_class], (backward_class, seed)
