"""The mmdet test pipeline derived from the preprocessing contract (``tsmdet.runtime.preprocess.Preprocess``).

``ContractPreprocess`` replaces mmdet's ``Resize`` in the detector configs' test pipelines:
it calls the very :meth:`Preprocess.apply` every deployed engine calls, so ``tools/test.py``
scores the pixels a deployed model sees. It writes what mmdet's ``Resize`` + the data
preprocessor's padding would have produced:

* ``img``: float32 (input_h, input_w, 3) in BGR (mmdet's data preprocessor does the
  ``bgr_to_rgb``), the frame resized and placed at the top left, the rest filled with the
  contract's pad value (the mean: 0 after normalisation, mmdet's own padding value). Float,
  because a uint8 image cannot hold the mean exactly;
* ``img_shape`` = ``pad_shape`` = the network input: the fixed-size graph clips boxes to its
  input, so mmdet does the same;
* ``scale_factor`` = (new_w / w, new_h / h), as mmdet's ``Resize(keep_ratio=True)`` records it.

Usage in a config: ``test_pipeline = [dict(type="LoadImageFromFile"), dict(type="ContractPreprocess",
**preprocess), dict(type="LoadAnnotations", with_bbox=True), dict(type="PackDetInputs", ...)]``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from tsmdet.runtime.preprocess import Preprocess


@TRANSFORMS.register_module()
class ContractPreprocess(BaseTransform):
    """mmdet transform applying the preprocessing contract; keyword arguments are ``Preprocess`` fields."""

    def __init__(self, **preprocess: Any) -> None:
        self.contract = Preprocess.from_dict(preprocess)

    def transform(self, results: dict) -> dict:
        img = results["img"]  # (h, w, 3) uint8 BGR from LoadImageFromFile
        tensor, info = self.contract.apply(np.ascontiguousarray(img))  # (3, H, W) in channel_order
        hwc = tensor.transpose(1, 2, 0)  # (H, W, 3)
        if self.contract.channel_order == "RGB":
            hwc = hwc[..., ::-1]  # back to BGR: the data preprocessor converts it (bgr_to_rgb=True)
        results["img"] = np.ascontiguousarray(hwc)
        height, width = results["img"].shape[:2]
        results["img_shape"] = (height, width)
        results["pad_shape"] = (height, width)
        results["scale_factor"] = info.scale_xy
        results["keep_ratio"] = True
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.contract})"
