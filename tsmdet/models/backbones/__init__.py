from .tsm_mobilenet_v2 import TSMMobileNetV2
from .tsm_resnet import TSMResNet

__all__ = ["TSMMobileNetV2", "TSMResNet"]
