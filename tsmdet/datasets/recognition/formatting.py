"""Pack a decoded clip into the recognizer's input contract.

``inputs``: uint8 tensor ``(V*T, 3, H, W)`` in BGR (OpenCV order; the model's
``ActionDataPreprocessor(bgr_to_rgb=True)`` flips and normalises, the mmdet convention),
views x segments, view-major. ``data_samples``: one
:class:`~tsmdet.structures.ActionDataSample` with ``gt_label`` and the metainfo.
"""
from __future__ import annotations

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmdet.registry import TRANSFORMS
from tsmdet.structures import ActionDataSample

DEFAULT_META_KEYS: tuple[str, ...] = ("video_id", "filename", "total_frames", "frame_inds", "num_segments",
                                      "num_views", "img_shape", "num_bad_frames", "skipped")


@TRANSFORMS.register_module()
class PackActionInputs(BaseTransform):
    """``imgs`` (list of (H, W, 3) BGR) -> ``inputs`` (V*T, 3, H, W) uint8 + an ActionDataSample."""

    def __init__(self, meta_keys: tuple[str, ...] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        imgs = np.stack(results["imgs"])  # (V*T, H, W, 3)
        inputs = torch.from_numpy(np.ascontiguousarray(imgs.transpose(0, 3, 1, 2)))  # (V*T, 3, H, W)
        num_segments = int(results.get("num_segments", len(imgs)))
        if len(imgs) % num_segments:
            raise ValueError(f"{len(imgs)} frames are not a whole number of {num_segments}-frame views "
                             f"({results.get('filename')})")
        results["num_views"] = len(imgs) // num_segments
        if results.get("filename") is None:
            results["filename"] = results.get("frame_dir")
        sample = ActionDataSample()
        if results.get("label") is not None:
            sample.set_gt_label(int(results["label"]))
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return {"inputs": inputs, "data_samples": sample}
