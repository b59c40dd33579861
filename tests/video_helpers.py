"""Small helpers the tests share for looking at videos they produced."""
from __future__ import annotations

from pathlib import Path

import cv2


def count_video_frames(path: str | Path) -> int:
    """Frames that actually decode (not the container's claim): what a player would show."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n
