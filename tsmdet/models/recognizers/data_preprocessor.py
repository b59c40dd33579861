"""Batch and normalise recognition clips: uint8 BGR ``(V*T, 3, H, W)`` -> float ``(N, V*T, 3, H, W)``.

The same convention as MMDetection's ``DetDataPreprocessor``: ``mean``/``std``
are on the 0..255 scale and in the channel order the network expects *after*
the optional BGR->RGB flip (frames arrive in BGR, as OpenCV decodes them).
Normalising here, on the device, keeps the data workers cheap and the dataset
free of model choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, 0..255
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class ActionDataPreprocessor(BaseDataPreprocessor):
    """Args:
    mean: per-channel mean, 0..255, in the network's channel order.
    std: per-channel std, 0..255.
    bgr_to_rgb: flip the input's channel order (BGR frames -> an RGB-trained network).
    """

    def __init__(
        self,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        bgr_to_rgb: bool = True,
    ) -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std need 3 values each, got {list(mean)} and {list(std)}")
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive, got {list(std)}")
        self.bgr_to_rgb = bgr_to_rgb
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=torch.float32).view(1, 1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(std, dtype=torch.float32).view(1, 1, 3, 1, 1), persistent=False
        )

    def normalize(self, inputs: Tensor) -> Tensor:
        """``(N, V*T, 3, H, W)`` any dtype (0..255) -> normalised float32."""
        if inputs.ndim != 5 or inputs.shape[2] != 3:
            raise ValueError(f"expected inputs of shape (N, V*T, 3, H, W), got {tuple(inputs.shape)}")
        x = inputs.float()
        if self.bgr_to_rgb:
            x = x.flip(2)  # BGR -> RGB along the channel axis
        return (x - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> dict:
        """``data['inputs']``: a list of ``(V*T, 3, H, W)`` tensors (one per video) or a 5-D tensor."""
        data = self.cast_data(data)  # to the model's device
        inputs = data["inputs"]
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(
                    f"all clips of a batch must have one shape (V*T, 3, H, W); got {sorted(shapes)}"
                )
            inputs = torch.stack(list(inputs))  # (N, V*T, 3, H, W)
        return dict(inputs=self.normalize(inputs), data_samples=data.get("data_samples"))
