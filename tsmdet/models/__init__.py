"""Importing this package registers tsmdet's models in MMDetection's ``MODELS`` registry.

It has no other side effect. Safe checkpoint loading is an explicit, process-wide opt-in
made by the places that load (``tsmdet.apis.build_runner``, ``tsmdet.deploy`` loading):
``tsmdet.utils.checkpoint.register_safe_loader()``.
"""
from .backbones import TSMMobileNetV2, TSMResNet
from .detectors import OnlineVideoDetector
from .recognizers import ActionDataPreprocessor, Recognizer2D, TSMHead

__all__ = ["ActionDataPreprocessor", "OnlineVideoDetector", "Recognizer2D", "TSMHead", "TSMMobileNetV2", "TSMResNet"]
