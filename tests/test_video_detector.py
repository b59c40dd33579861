"""OnlineVideoDetector as a whole: online (frame by frame, shift caches) == offline (clip), resets, training.

The central invariant of the project, for the whole detector rather than the backbone alone:
a past-shift model run online over a clip gives the same features and detections per frame
as run offline on the clip. Checked on the synthetic Faster R-CNN (TSM ResNet-18) and
RetinaNet (TSM MobileNetV2) configs with random weights.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from tsmdet.apis import load_config
from tsmdet.deploy.verify import DetectionMatch, pair_detections

REPO = Path(__file__).resolve().parents[1]
NUM_FRAMES = 4  # the synthetic configs' num_segments
HEIGHT, WIDTH = 64, 96
# score_thr 0: with random weights every frame then has max_per_img (100) detections to compare.
DETECTORS = {
    "faster_rcnn": ("configs/synthetic/faster_rcnn_r18_tsm.py",
                    {"model.detector.test_cfg.rcnn.score_thr": 0.0}),
    "retinanet": ("configs/synthetic/retinanet_mbv2_tsm.py", {"model.detector.test_cfg.score_thr": 0.0}),
}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def randomize(model: nn.Module, seed: int = 0) -> None:
    """Make a freshly initialised detector a meaningful test subject.

    mmdet's init leaves the shifted path dead and the scores tied: ResNet zero-initialises the
    last BN of every residual branch (``zero_init_residual``), so with ``shift_place='blockres'``
    the shifted branch adds exactly nothing, online and offline would agree trivially; and the
    heads start with std 0.01 weights (RetinaNet plus a prior bias), so all scores are nearly
    equal and their order is float noise. Random BN statistics and fan-in scaled head weights
    (box regressors kept small) fix both.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, module in model.detector.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.uniform_(0.5, 1.5, generator=g)
                module.bias.normal_(0.0, 0.2, generator=g)
                module.running_mean.normal_(0.0, 0.2, generator=g)
                module.running_var.uniform_(0.5, 1.5, generator=g)
            elif (name.split(".")[0].endswith("head") and isinstance(module, (nn.Conv2d, nn.Linear))
                  and not name.endswith("reg")):
                module.weight.normal_(0.0, 1.0 / math.sqrt(module.weight[0].numel()), generator=g)


@pytest.fixture(scope="module", params=list(DETECTORS))
def detector(request, build_detector):
    path, options = DETECTORS[request.param]
    cfg = load_config(REPO / path, options)
    assert cfg.model.detector.backbone.num_segments == NUM_FRAMES
    assert cfg.model.detector.backbone.shift_direction == "past"
    model = build_detector(cfg)
    randomize(model)
    return model.eval()


def run(model, batch: dict, mode: str, reset: bool = True) -> list:
    """``test_step`` in ``mode`` on a copy of ``batch``; the stream state is cleared first unless ``reset``
    is False.

    mmdet writes the predictions into the given data samples and returns those same
    objects: without the copy, two runs on one batch would return one set of results.
    """
    model.test_mode = mode
    if reset:
        model.reset()
    with torch.no_grad():
        return model.test_step({"inputs": list(batch["inputs"]),
                                "data_samples": [sample.clone() for sample in batch["data_samples"]]})


def frames_of(batch: dict, indices) -> dict:
    """A sub-batch with the given frames (their metainfo, e.g. ``is_video_start``, unchanged)."""
    return {"inputs": [batch["inputs"][i] for i in indices],
            "data_samples": [batch["data_samples"][i] for i in indices]}


def match(a, b) -> DetectionMatch:
    def rows(sample):
        pred = sample.pred_instances
        return pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy()

    return pair_detections(rows(a), rows(b))


def assert_same_detections(a, b, what: str) -> None:
    """Same detections up to float error: one-to-one matched by label and box (IoU > 0.99).

    One unmatched detection is tolerated: two candidates whose scores differ by less than
    the float error can swap at the ``max_per_img`` cut.
    """
    m = match(a, b)
    assert m.num_a == m.num_b > 0, f"{what}: {m}"
    assert m.matched >= m.num_a - 1, f"{what}: {m}"
    assert m.max_score_diff < 1e-4, f"{what}: {m}"


def differs(a, b) -> bool:
    m = match(a, b)
    return m.matched < m.num_a - 1 or m.max_score_diff > 1e-3


def test_online_features_equal_offline(detector, make_clip_batch):
    """Neck outputs per frame: offline on the clip vs online with the caches (no ties to worry about)."""
    data = detector.data_preprocessor(make_clip_batch(1, NUM_FRAMES, HEIGHT, WIDTH, with_gt=False), False)
    x = data["inputs"]  # (T, 3, H, W)
    backbone = detector.detector.backbone
    with torch.no_grad():
        offline = detector.extract_feat(x)
        state = backbone.init_state(1, HEIGHT, WIDTH)
        for t in range(NUM_FRAMES):
            with backbone.online(state) as call:
                online = detector.extract_feat(x[t : t + 1])
            state = call.results()
            # The frame as frame 0 of a static clip: no past.
            alone = detector.extract_feat(x[t : t + 1].repeat(NUM_FRAMES, 1, 1, 1))
            for level, (on, off) in enumerate(zip(online, offline)):
                torch.testing.assert_close(on[0], off[t], rtol=1e-4, atol=1e-4,
                                           msg=f"frame {t} level {level}")
                if t > 0:  # the previous frame really enters: without it the features differ
                    assert (alone[level][0] - off[t]).abs().max() > 1e-3, f"frame {t} level {level}"


def test_online_predictions_equal_offline(detector, make_clip_batch):
    batch = make_clip_batch(1, NUM_FRAMES, HEIGHT, WIDTH, with_gt=False)
    offline = run(detector, batch, "offline")
    online = run(detector, batch, "online")  # the detector walks the batch frame by frame
    one_by_one = [run(detector, frames_of(batch, [t]), "online", reset=False)[0] for t in range(NUM_FRAMES)]
    detector.reset()
    every_frame_a_video = make_clip_batch(1, NUM_FRAMES, HEIGHT, WIDTH, with_gt=False)
    for sample in every_frame_a_video["data_samples"]:
        sample.set_metainfo(dict(is_video_start=True))
    stateless = run(detector, every_frame_a_video, "online")
    assert len(offline) == len(online) == NUM_FRAMES
    for t in range(NUM_FRAMES):
        assert_same_detections(offline[t], online[t], f"frame {t}: offline vs online")
        assert_same_detections(offline[t], one_by_one[t], f"frame {t}: offline vs online one call per frame")
        if t == 0:
            assert_same_detections(offline[t], stateless[t], "frame 0 has no past")
        else:  # otherwise the comparison above would hold for a model without temporal shift
            assert differs(offline[t], stateless[t]), f"frame {t}: the shift state changes nothing"


def test_state_resets_at_video_start(detector, make_clip_batch):
    """Two videos back to back online == each on its own == the two clips offline (N=2)."""
    batch = make_clip_batch(2, NUM_FRAMES, HEIGHT, WIDTH, with_gt=False)
    video_a, video_b = range(NUM_FRAMES), range(NUM_FRAMES, 2 * NUM_FRAMES)
    both = run(detector, batch, "online")
    offline = run(detector, batch, "offline")
    b_alone = run(detector, frames_of(batch, video_b), "online")
    for t in range(NUM_FRAMES):
        assert_same_detections(both[NUM_FRAMES + t], b_alone[t], f"video 2 frame {t} after video 1 vs alone")
    for i in range(2 * NUM_FRAMES):
        assert_same_detections(both[i], offline[i], f"batch frame {i}: online vs offline")
    # Without the flag, video 2 would start with video 1's state: the reset is what makes them equal.
    batch["data_samples"][NUM_FRAMES].set_metainfo(dict(is_video_start=False))
    leaked = run(detector, batch, "online")
    assert differs(leaked[NUM_FRAMES], b_alone[0])
    # Separate test_step calls (the test loop with batch_size=1) carry and reset state the same way.
    batch["data_samples"][NUM_FRAMES].set_metainfo(dict(is_video_start=True))
    detector.reset()
    calls = [run(detector, frames_of(batch, [i]), "online", reset=False)[0]
             for i in itertools.chain(video_a, video_b)]
    for i in range(2 * NUM_FRAMES):
        assert_same_detections(calls[i], both[i], f"batch frame {i}: one call per frame vs one batch")


def test_bidirectional_shift_cannot_run_online(build_detector):
    from mmdet.registry import MODELS

    cfg = load_config(REPO / DETECTORS["retinanet"][0])
    cfg.model.detector.backbone.shift_direction = "bidirectional"
    with pytest.raises(ValueError, match="past"):
        build_detector(cfg)
    cfg.model.test_mode = "offline"
    assert build_detector(cfg).test_mode == "offline"
    with pytest.raises(ValueError, match="test_mode"):
        MODELS.build(dict(cfg.model, test_mode="streaming"))


def test_training_on_tiny_set_lowers_the_loss(tiny_vid, build_detector):
    """15 iterations (1 clip of 4 frames each, constant lr) from random init lower the loss."""
    from mmengine.runner import Runner, set_random_seed

    import tsmdet.datasets.vid_clip_dataset  # noqa: F401  (registers VIDClipDataset, clip_collate)

    cfg = load_config(REPO / DETECTORS["faster_rcnn"][0], {
        "train_dataloader.batch_size": 1, "train_dataloader.num_workers": 0,
        "train_dataloader.persistent_workers": False}, data_root=str(tiny_vid))
    model = build_detector(cfg)
    set_random_seed(0)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    losses = []
    for batch in itertools.islice(itertools.cycle(loader), 15):
        assert len(batch["inputs"]) == NUM_FRAMES
        losses.append(float(model.train_step(batch, optim_wrapper)["loss"].detach()))
    assert np.isfinite(losses).all(), losses
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses
