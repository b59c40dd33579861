"""Checkpoint import from the TSM release and MMAction2 into tsmdet's ``Recognizer2D``.

One module per source (``tsm_release``, ``mmaction2``), each a tuple of small
:class:`~tsmdet.models.convert.common.Layout` records; a new format (the online
demo's bare MobileNetV2) is one more ``Layout`` added to ``api.LAYOUTS``.
"""

from .api import SOURCES, convert_checkpoint, detect_layout
from .common import ConversionError, Layout

__all__ = ["SOURCES", "ConversionError", "Layout", "convert_checkpoint", "detect_layout"]
