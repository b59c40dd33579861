"""Offline recognition API: build a recognizer from a config (+ checkpoint) and classify one video.

    model = init_recognizer("configs/recognition/synthetic/tsm_r18_gestures.py", "tsm.pth")
    inference_recognizer(model, "clip.mp4")            # or a frame folder, or a list of BGR frames
    # -> [("swipe_left", 0.93), ("swipe_right", 0.04), ...]

The video goes through the config's **test** pipeline (sampling, resize, crops), so the
scores are exactly what ``tools/test.py`` computes for that video. Checkpoints load through
the safe loader (tsmdet.utils.checkpoint); class names come from the checkpoint's meta
(``dataset_meta['classes']`` of mmengine checkpoints, ``meta['classes']`` of converted ones),
else from the config's class-name file, else ``class_<i>``.
"""
from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from tsmdet.utils.checkpoint import register_safe_loader

logger = logging.getLogger(__name__)


def _drop_pretrained(node: Any) -> None:
    """Weights come from the checkpoint: skip ``init_cfg=Pretrained`` downloads."""
    if isinstance(node, dict):
        if isinstance(node.get("init_cfg"), dict) and node["init_cfg"].get("type") == "Pretrained":
            node["init_cfg"] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def _classes_from_config(cfg: Config) -> tuple[str, ...] | None:
    from tsmdet.datasets.recognition.annotations import load_class_names

    if cfg.get("classes"):  # a config may name its classes (a set whose classes are fixed)
        return tuple(cfg.classes)
    ds = cfg.get("test_dataloader", {}).get("dataset", {})
    names_file = ds.get("class_names_file")
    if not names_file:
        return None
    path = Path(names_file) if os.path.isabs(names_file) else Path(ds.get("data_root") or "") / names_file
    return tuple(load_class_names(path)) if path.is_file() else None


def init_recognizer(config: str | os.PathLike | Config, checkpoint: str | None = None,
                    device: str = "cpu") -> torch.nn.Module:
    """The config's recognizer in eval mode on ``device``, with ``model.cfg`` and ``model.dataset_meta``.

    Without a checkpoint the weights are the config's initialisation (for tests and smoke runs).
    """
    cfg = Config.fromfile(str(config)) if not isinstance(config, Config) else copy.deepcopy(config)
    init_default_scope(cfg.get("default_scope", "mmdet"))
    import tsmdet.datasets.recognition  # noqa: F401  (registers the clip transforms)
    import tsmdet.models  # noqa: F401  (registers Recognizer2D, TSMHead, the TSM backbones)
    from mmdet.registry import MODELS

    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is not None:
        _drop_pretrained(model_cfg)
    model = MODELS.build(model_cfg)
    model.init_weights()
    classes = None
    if checkpoint is not None:
        register_safe_loader()
        ckpt = load_checkpoint(model, checkpoint, map_location="cpu", strict=True)
        meta = ckpt.get("meta", {}) if isinstance(ckpt, dict) else {}
        classes = (meta.get("dataset_meta") or {}).get("classes") or meta.get("classes")
    classes = tuple(classes) if classes else _classes_from_config(cfg)
    num_classes = model.cls_head.num_classes
    if classes is None or len(classes) != num_classes:
        if classes is not None:
            logger.warning("%d class names for %d classes: using class_<i>", len(classes), num_classes)
        classes = tuple(f"class_{i}" for i in range(num_classes))
    model.cfg = cfg
    model.dataset_meta = {"classes": classes}
    return model.to(device).eval()


def _frame_folder_input(folder: Path, ds_cfg: dict) -> dict:
    """A frame folder: the config's template (else the first that matches) and its frame count."""
    start = int(ds_cfg.get("start_index", 1))
    templates = [ds_cfg.get("filename_tmpl", "img_{:05d}.jpg"), "img_{:05d}.jpg", "{:05d}.jpg", "{:06d}.jpg"]
    for tmpl in dict.fromkeys(templates):
        count = 0
        while (folder / tmpl.format(start + count)).is_file():
            count += 1
        if count:
            return dict(frame_dir=str(folder), filename_tmpl=tmpl, start_index=start, total_frames=count)
    raise FileNotFoundError(f"no frames named like {templates[0]!r} (from {start}) in {folder}")


def inference_recognizer(model: torch.nn.Module, video: str | os.PathLike | list[np.ndarray],
                         topk: int = 5) -> list[tuple[str, float]]:
    """Top-``topk`` (class name, probability) of one video, best first.

    ``video``: a video file, a frame folder (``img_00001.jpg``... or the config's template)
    or a list of BGR uint8 frames (H, W, 3), e.g. from ``cv2.VideoCapture``.
    """
    cfg = model.cfg
    ds_cfg = cfg.test_dataloader.dataset
    if isinstance(video, (list, tuple)):
        if not video:
            raise ValueError("inference_recognizer: empty frame list")
        results: dict[str, Any] = dict(video_frames=list(video), total_frames=len(video))
    else:
        path = Path(video)
        if path.is_dir():
            results = _frame_folder_input(path, ds_cfg)
        elif path.is_file():  # counted here too: frame-folder configs have no VideoInit step
            from tsmdet.datasets.recognition.decoding import video_frame_count

            results = dict(filename=str(path), total_frames=video_frame_count(path))
        else:
            raise FileNotFoundError(f"video not found: {path}")
    results.update(label=None, video_id=0)
    pipeline = Compose(copy.deepcopy(ds_cfg.pipeline))
    data = pipeline(results)
    if data["data_samples"].metainfo.get("skipped"):
        raise ValueError(f"cannot read {video if not isinstance(video, (list, tuple)) else 'the frames'}")
    with torch.no_grad():
        sample = model.test_step(pseudo_collate([data]))[0]
    scores = sample.pred_score.float().cpu()
    k = min(topk, scores.numel())
    values, indices = scores.topk(k)
    names = model.dataset_meta["classes"]
    return [(names[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]
