"""Shared fixtures: one torch thread, a tiny synthetic VID set, hand-built clip batches, config models."""
from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models on a 2-core machine: a second OpenMP thread only fights the other processes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_vid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic ILSVRC2015-layout set (4 train / 2 val videos of 12 frames, 96x64) with both jsons.

    Layout as the synthetic configs expect under ``data_root``: ``Data/VID/``,
    ``annotations/imagenet_vid_{train,val}.json``. About half a second to make.
    """
    from tsmdet.datasets.imagenet_vid import convert_to_file
    from tsmdet.datasets.synthetic import generate_synthetic_vid

    root = tmp_path_factory.mktemp("tiny_vid")
    generate_synthetic_vid(root, train_videos=4, val_videos=2, frames=12, size=(96, 64), mp4=0,
                           overwrite=True)
    for split in ("train", "val"):
        out = root / "annotations" / f"imagenet_vid_{split}.json"
        convert_to_file(root, split, out, workers=1, progress=False)
    return root


def drop_pretrained(node):
    """Set every ``init_cfg=dict(type='Pretrained', ...)`` in a config tree to None (no network in tests)."""
    if isinstance(node, dict):
        init_cfg = node.get("init_cfg")
        if isinstance(init_cfg, dict) and init_cfg.get("type") == "Pretrained":
            node["init_cfg"] = None
        for value in node.values():
            drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            drop_pretrained(value)
    return node


@pytest.fixture(scope="session")
def build_detector() -> Callable:
    """``build(cfg, seed=0)`` -> the config's model, randomly initialised (pretrained weights dropped)."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    import tsmdet.models  # noqa: F401  (registers the TSM backbones and OnlineVideoDetector)

    def build(cfg, seed: int = 0):
        init_default_scope(cfg.get("default_scope", "mmdet"))
        torch.manual_seed(seed)
        model = MODELS.build(drop_pretrained(copy.deepcopy(cfg.model)))
        model.init_weights()
        return model

    return build


def _clip_batch(num_clips: int, num_frames: int, height: int = 64, width: int = 64, seed: int = 0,
                video_starts: bool = True, with_gt: bool = True) -> dict:
    """``clip_collate``-style batch: N clips of T random uint8 frames, video-major, time-minor.

    Frames of a clip are a smooth random image moving right by 2 px per frame plus a little
    noise (so neighbouring frames are related, as in a video); one box per frame.
    """
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for clip in range(num_clips):
        base = torch.rand(3, height // 8 + 1, width // 8 + 2, generator=g)
        base = torch.nn.functional.interpolate(base[None], scale_factor=8, mode="bilinear")[0]
        for t in range(num_frames):
            shift = 2 * t % 16
            noise = torch.rand(3, height, width, generator=g)
            frame = base[:, :height, shift : shift + width] * 200 + noise * 55
            inputs.append(frame.clamp(0, 255).to(torch.uint8))
            sample = DetDataSample(metainfo=dict(
                img_id=clip * num_frames + t, img_shape=(height, width), ori_shape=(height, width),
                scale_factor=(1.0, 1.0), video_id=clip, frame_id=t,
                is_video_start=video_starts and t == 0))
            if with_gt:
                x = 8.0 + 2 * t
                sample.gt_instances = InstanceData(bboxes=torch.tensor([[x, 10.0, x + 30.0, 10.0 + 28.0]]),
                                                   labels=torch.tensor([clip % 2]))
            samples.append(sample)
    return {"inputs": inputs, "data_samples": samples}


@pytest.fixture(scope="session")
def make_clip_batch() -> Callable[..., dict]:
    """Factory for hand-built clip batches; see :func:`_clip_batch`."""
    return _clip_batch
