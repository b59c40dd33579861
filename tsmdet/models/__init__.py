"""Importing this package registers tsmdet's models in MMDetection's ``MODELS`` registry
and makes mmengine load checkpoints through the safe loader (tsmdet.utils.checkpoint)."""
from tsmdet.utils.checkpoint import register_safe_loader
from .backbones import TSMMobileNetV2, TSMResNet
from .detectors import OnlineVideoDetector
from .recognizers import ActionDataPreprocessor, Recognizer2D, TSMHead

__all__ = ["OnlineVideoDetector", "TSMMobileNetV2", "TSMResNet"]

register_safe_loader()
