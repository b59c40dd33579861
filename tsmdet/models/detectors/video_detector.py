"""Run any mmdet detector with a TSM backbone over videos: clips in training, streams at test time."""
from __future__ import annotations

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from torch import Tensor

TEST_MODES = ("online", "offline")


@MODELS.register_module()
class OnlineVideoDetector(BaseDetector):
    """Wraps an mmdet detector (``detector=dict(type='FasterRCNN', backbone=dict(type='TSMResNet', ...))``).

    Training is the inner detector's own loss on ``N*T`` clip frames (the TSM
    backbone shifts within each clip). Prediction in ``'online'`` mode runs the
    batch's frames one by one, in order, carrying the backbone's shift caches
    and resetting them where a frame's metainfo says ``is_video_start`` (or the
    frame size changes) — exactly what a deployed stream does, so the reported
    mAP is the streaming model's. ``'offline'`` predicts a clip batch at once.

    Args:
        detector: config of the inner mmdet detector.
        test_mode: ``'online'`` (default; needs ``shift_direction='past'`` or a
            backbone without shift) or ``'offline'``.
    """

    def __init__(self, detector: dict, test_mode: str = "online", init_cfg: dict | None = None) -> None:
        if test_mode not in TEST_MODES:
            raise ValueError(f"test_mode must be one of {TEST_MODES}, got {test_mode!r}")
        inner = MODELS.build(detector)
        super().__init__(data_preprocessor=inner.data_preprocessor, init_cfg=init_cfg)
        self.detector = inner
        self.test_mode = test_mode
        # The one stream mmengine's test loop feeds frame by frame (predict has no way to take state):
        # reset at every is_video_start. Deployment paths pass state explicitly (tsmdet.deploy, runtime).
        self._state: tuple[Tensor, ...] | None = None
        backbone = inner.backbone
        self.supports_online = hasattr(backbone, "init_state")
        if test_mode == "online" and self.supports_online and getattr(backbone, "shift_direction", "past") != "past":
            raise ValueError("online test mode needs shift_direction='past' (a bidirectional shift looks at the next frame)")

    def loss(self, batch_inputs: Tensor, batch_data_samples: list[DetDataSample]) -> dict:
        return self.detector.loss(batch_inputs, batch_data_samples)

    def extract_feat(self, batch_inputs: Tensor):
        return self.detector.extract_feat(batch_inputs)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: list[DetDataSample] | None = None):
        return self.detector._forward(batch_inputs, batch_data_samples)

    def reset(self) -> None:
        """Forget the stream state; the next frame starts a new video."""
        self._state = None

    def predict(self, batch_inputs: Tensor, batch_data_samples: list[DetDataSample], rescale: bool = True):
        if self.test_mode == "offline" or not self.supports_online:
            return self.detector.predict(batch_inputs, batch_data_samples, rescale=rescale)
        return [self._predict_frame(batch_inputs[i : i + 1], s, rescale) for i, s in enumerate(batch_data_samples)]

    def _predict_frame(self, frame: Tensor, sample: DetDataSample, rescale: bool) -> DetDataSample:
        backbone = self.detector.backbone
        height, width = frame.shape[-2:]
        if (
            self._state is None
            or sample.metainfo.get("is_video_start", False)
            or self._state[0].shape[-2:] != backbone.state_shapes(height, width)[0][-2:]
        ):
            self._state = backbone.init_state(1, height, width)
        with torch.no_grad(), backbone.online(self._state) as call:
            result = self.detector.predict(frame, [sample], rescale=rescale)[0]
        self._state = call.results()
        return result
