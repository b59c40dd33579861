"""Small frames are enlarged before annotation (render.for_display), boxes with them, so a label fits."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tsmdet.runtime.results import Classification, Detections
from tsmdet.streaming.render import for_display
from tsmdet.streaming.sinks import VideoSink
from tsmdet.streaming.sources.base import Frame

CLASSES = ("cat", "dog")


def _image(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_small_frame_is_enlarged_by_an_integer_factor_with_its_boxes():
    image = _image(64, 64)
    dets = Detections(np.array([[4, 8, 20, 40]], np.float32), np.array([0.9], np.float32),
                      np.array([1]), CLASSES)
    shown, scaled = for_display(image, dets)
    assert shown.shape == (256, 256, 3)
    assert (shown[8:12, 20:24] == image[2, 5]).all()  # nearest neighbour: a pixel becomes a 4x4 block
    np.testing.assert_array_equal(scaled.boxes, [[16, 32, 80, 160]])
    np.testing.assert_array_equal(dets.boxes, [[4, 8, 20, 40]])  # the engine's result is not touched
    shown, _ = for_display(_image(100, 300), dets)
    assert shown.shape == (300, 900, 3)  # short side 100: x3 reaches 256


def test_large_frame_and_box_free_results_pass_through():
    image = _image(480, 640)
    dets = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), CLASSES)
    shown, same = for_display(image, dets)
    assert shown is image and same is dets
    result = Classification(np.array([0.3, 0.7], np.float32), CLASSES)
    shown, same = for_display(_image(64, 64), result)
    assert shown.shape == (256, 256, 3) and same is result


def test_video_of_a_64px_stream_is_written_at_256px(tmp_path: Path):
    path = tmp_path / "annotated.mp4"
    sink = VideoSink(path, fps=10.0, classes=CLASSES)
    for i in range(3):
        sink.write(Frame(i, _image(64, 64), i / 10), Classification(np.array([0.2, 0.8], np.float32), CLASSES))
    sink.close()
    cap = cv2.VideoCapture(str(path))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert size == (256, 256) and count == 3
