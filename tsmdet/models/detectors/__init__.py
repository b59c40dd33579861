from .video_detector import OnlineVideoDetector

__all__ = ["OnlineVideoDetector"]
