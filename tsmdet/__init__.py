"""tsmdet: online video object detection with Temporal Shift Modules."""

__version__ = "0.1.0"
