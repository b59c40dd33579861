"""Action recognizers (clips in, class scores out), registered in MMDetection's ``MODELS``."""

from .data_preprocessor import ActionDataPreprocessor
from .recognizer2d import Recognizer2D
from .tsm_head import TSMHead

__all__ = ["ActionDataPreprocessor", "Recognizer2D", "TSMHead"]
