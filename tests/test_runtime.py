"""Engines (onnxruntime, torch) on a toy online detector: state feedback, reset, stream slots, selection."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from toy_detector import (
    CLASSES, INPUT_H, INPUT_W, ToyOnlineDetector, export_toy, random_frames, toy_meta, zero_states,
)
from tsmdet.runtime import (
    Detections, EngineUnavailableError, available_engines, create_engine, letterbox, unletterbox_boxes,
)
from tsmdet.runtime.onnx_engine import OnnxEngine
from tsmdet.runtime.torch_engine import TorchEngine

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    return {"static": export_toy(root / "static.onnx", dynamic_batch=False),
            "dynamic": export_toy(root / "dynamic.onnx", dynamic_batch=True)}


@pytest.fixture(params=["static", "dynamic"])
def onnx_path(request, onnx_models) -> Path:
    return onnx_models[request.param]


def reference_run(frames: list[np.ndarray], score_thr: float) -> list[tuple[np.ndarray, ...]]:
    """The toy module run frame by frame in torch with its states fed back, postprocessed by hand."""
    module = ToyOnlineDetector().eval()
    states = zero_states()
    results = []
    for frame in frames:
        image, info = letterbox(frame, (INPUT_W, INPUT_H), 114.0, "RGB")
        with torch.no_grad():
            out = [o.numpy() for o in module(torch.from_numpy(image[None]), *map(torch.from_numpy, states))]
        boxes, scores, labels, num_dets = (o[0] for o in out[:4])
        states = out[4:]
        n = int(num_dets)
        keep = scores[:n] >= score_thr
        results.append((unletterbox_boxes(boxes[:n][keep], info), scores[:n][keep], labels[:n][keep]))
    return results


def assert_same(a: Detections, b: Detections | tuple, atol: float = 1e-4) -> None:
    boxes, scores, labels = (b.boxes, b.scores, b.labels) if isinstance(b, Detections) else b
    assert a.scores.shape == scores.shape
    np.testing.assert_allclose(a.boxes, boxes, atol=atol)
    np.testing.assert_allclose(a.scores, scores, atol=atol)
    np.testing.assert_array_equal(a.labels, labels)


# ---------------------------------------------------------------------- letterbox
@pytest.mark.parametrize("frame_size", [(60, 40), (40, 60), (48, 32), (100, 30), (7, 200), (480, 320)])
def test_letterbox_round_trip(frame_size):
    w, h = frame_size
    frame = np.zeros((h, w, 3), np.uint8)
    x0, y0, x1, y1 = w // 4, h // 4, w // 4 + max(2, w // 2), h // 4 + max(2, h // 2)
    frame[y0:y1, x0:x1] = 255
    tensor, info = letterbox(frame, (INPUT_W, INPUT_H), 114.0, "RGB")
    assert tensor.shape == (3, INPUT_H, INPUT_W) and tensor.dtype == np.float32
    assert (info.orig_w, info.orig_h) == (w, h)

    # the aspect ratio is kept and the padding is centred
    assert info.pad_x == (INPUT_W - round(w * info.scale)) // 2
    assert info.pad_y == (INPUT_H - round(h * info.scale)) // 2
    assert np.all(tensor[:, :, : info.pad_x] == 114.0) and np.all(tensor[:, : info.pad_y, :] == 114.0)

    # boxes: original -> input pixels -> original is exact
    rng = np.random.default_rng(w * 1000 + h)
    xy = rng.uniform(0, 1, size=(20, 4)) * [w, h, w, h]
    lo, hi = np.minimum(xy[:, :2], xy[:, 2:]), np.maximum(xy[:, :2], xy[:, 2:])
    boxes = np.concatenate([lo, hi], 1).astype(np.float32)
    in_input = boxes * info.scale + np.array([info.pad_x, info.pad_y] * 2, np.float32)
    np.testing.assert_allclose(unletterbox_boxes(in_input, info), boxes, rtol=1e-5, atol=1e-3)

    # the white rectangle lands where the mapping says (within a resampled pixel)
    ys, xs = np.nonzero(tensor[0] > 200)
    if len(xs):
        found = unletterbox_boxes(np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]), info)[0]
        np.testing.assert_allclose(found, [x0, y0, x1, y1], atol=1.5 / info.scale + 1)


def test_letterbox_channel_order_and_clipping():
    blue = np.zeros((10, 10, 3), np.uint8)
    blue[..., 0] = 255  # BGR blue
    rgb, _ = letterbox(blue, (10, 10), 0.0, "RGB")
    bgr, info = letterbox(blue, (10, 10), 0.0, "BGR")
    assert rgb[2].min() == 255 and rgb[0].max() == 0
    assert bgr[0].min() == 255 and bgr[2].max() == 0
    clipped = unletterbox_boxes(np.array([[-5, -5, 50, 50]]), info)
    np.testing.assert_array_equal(clipped, [[0, 0, 10, 10]])


# ---------------------------------------------------------------------- onnxruntime engine
def test_onnx_engine_matches_reference_with_state_feedback(onnx_path):
    engine = OnnxEngine(onnx_path)
    assert engine.meta.classes == CLASSES and engine.meta.input_size == (INPUT_W, INPUT_H)
    assert engine.meta.batch_size == (-1 if "dynamic" in onnx_path.name else 1)
    frames = random_frames(6, (60, 40), seed=1)
    expected = reference_run(frames, engine.meta.score_thr)
    for frame, ref in zip(frames, expected):
        (dets,) = engine.infer([frame])
        assert_same(dets, ref)
        assert np.all(dets.scores >= engine.meta.score_thr)
        assert np.all(dets.boxes[:, 2] <= 60) and np.all(dets.boxes[:, 3] <= 40)
    assert engine.last_times.inference > 0 and engine.last_times.total >= engine.last_times.inference
    assert sum(len(r[1]) for r in expected) > 0, "toy model should detect something"


def test_state_changes_the_output(onnx_models):
    engine = OnnxEngine(onnx_models["static"])
    images = [letterbox(f, (INPUT_W, INPUT_H))[0][None] for f in random_frames(4, (60, 40), seed=2)]
    states = zero_states()
    for image in images[:-1]:
        _, states = engine.step(image, states)
    assert all(np.abs(s).sum() > 0 for s in states)
    carried, _ = engine.step(images[-1], states)
    fresh, _ = engine.step(images[-1], zero_states())
    assert not np.allclose(carried["scores"], fresh["scores"])
    assert not np.allclose(carried["boxes"], fresh["boxes"])


def test_reset_gives_first_frame_result_again(onnx_path):
    engine = OnnxEngine(onnx_path, num_streams=2)
    frames = random_frames(4, (50, 70), seed=3)
    first = engine.infer([frames[0]])[0]
    for frame in frames[1:]:
        engine.infer([frame])
    engine.reset()
    assert_same(engine.infer([frames[0]])[0], first, atol=1e-6)

    # resetting one slot leaves the other slot's state alone
    engine.reset()
    engine.infer([frames[1], frames[1]], [0, 1])
    engine.reset(1)
    after_reset, carried = engine.infer([frames[0], frames[0]], [1, 0])
    assert_same(after_reset, first, atol=1e-6)
    control = OnnxEngine(onnx_path)
    control.infer([frames[1]])
    assert_same(carried, control.infer([frames[0]])[0], atol=1e-6)


def test_stream_slots_keep_separate_state(onnx_path):
    a, b = random_frames(5, (64, 48), seed=4), random_frames(5, (40, 80), seed=5)
    solo_a, solo_b = OnnxEngine(onnx_path), OnnxEngine(onnx_path)
    alone_a = [solo_a.infer([f])[0] for f in a]
    alone_b = [solo_b.infer([f])[0] for f in b]

    shared = OnnxEngine(onnx_path, num_streams=2)
    for t in range(5):
        if t % 2 == 0:  # one call with both streams (batched when the graph batch is dynamic)
            det_a, det_b = shared.infer([a[t], b[t]], [0, 1])
        else:  # one call per stream, in the other order
            (det_b,) = shared.infer([b[t]], [1])
            (det_a,) = shared.infer([a[t]], [0])
        assert_same(det_a, alone_a[t], atol=1e-5)
        assert_same(det_b, alone_b[t], atol=1e-5)


def test_infer_rejects_bad_stream_ids(onnx_models):
    engine = OnnxEngine(onnx_models["static"], num_streams=2)
    frame = random_frames(1, (20, 20), seed=0)[0]
    with pytest.raises(IndexError):
        engine.infer([frame], [2])
    with pytest.raises(ValueError):
        engine.infer([frame, frame], [1, 1])
    with pytest.raises(ValueError):
        engine.infer([frame], [0, 1])
    assert engine.infer([]) == []


# ---------------------------------------------------------------------- torch engine
def test_torch_engine_matches_onnx_engine(onnx_models):
    meta = toy_meta(batch_size=-1)
    torch_engine = TorchEngine(ToyOnlineDetector(), meta, num_streams=2)
    onnx_engine = OnnxEngine(onnx_models["dynamic"], num_streams=2)
    a, b = random_frames(4, (60, 40), seed=6), random_frames(4, (30, 90), seed=7)
    for fa, fb in zip(a, b):
        for t, o in zip(torch_engine.infer([fa, fb]), onnx_engine.infer([fa, fb])):
            assert_same(t, o, atol=1e-4)


# ---------------------------------------------------------------------- engine selection
@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_trt_unavailable_says_what_to_install(onnx_models, tmp_path):
    hint = "TensorRT is not installed.*pip install tensorrt.*python3-libnvinfer.*cuda-python"
    with pytest.raises(EngineUnavailableError, match=hint):
        create_engine("trt", onnx_models["static"])
    with pytest.raises(EngineUnavailableError, match="TensorRT is not installed"):
        create_engine("auto", tmp_path / "model.engine")
    assert available_engines()["trt"] is False


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here, auto would pick it")
def test_auto_picks_onnx_here(onnx_models):
    engine = create_engine("auto", onnx_models["dynamic"], num_streams=3)
    assert isinstance(engine, OnnxEngine) and engine.num_streams == 3
    engines = available_engines()
    assert isinstance(engines["onnx"], str) and isinstance(engines["torch"], str)


def test_create_engine_torch_and_errors(onnx_models):
    engine = create_engine("auto", ToyOnlineDetector(), meta=toy_meta())
    assert isinstance(engine, TorchEngine)
    with pytest.raises(ValueError, match="nn.Module"):
        create_engine("torch", onnx_models["static"])
    with pytest.raises(ValueError, match="unknown engine kind"):
        create_engine("tflite", onnx_models["static"])


def test_runtime_imports_no_openmmlab_and_no_backend():
    code = (
        "import sys\n"
        "import tsmdet.runtime, tsmdet.runtime.onnx_engine, tsmdet.runtime.trt_engine, "
        "tsmdet.runtime.torch_engine, tsmdet.runtime.cuda_memory\n"
        "heavy = ('mmcv', 'mmdet', 'mmengine', 'torch', 'onnxruntime', 'tensorrt', 'onnx')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO)}, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_runtime_and_streaming_run_with_openmmlab_and_deploy_blocked(onnx_models):
    """A Jetson/edge box: only numpy, OpenCV and onnxruntime. tsmdet.deploy, tsmdet.models and the
    OpenMMLab stack are made unimportable; runtime, streaming and the tools' engine opening still
    load, and an exported model runs a frame."""
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('mmcv', 'mmdet', 'mmengine') or name.startswith(('tsmdet.deploy', 'tsmdet.models')):\n"
        "            raise ImportError(f'blocked: {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "import tsmdet.runtime, tsmdet.streaming, tsmdet.apis.engines, tsmdet.apis.defaults\n"
        "engine = tsmdet.apis.engines.open_engine('onnx', sys.argv[1])\n"
        "print(type(engine.infer([np.zeros((32, 48, 3), np.uint8)])[0]).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(onnx_models["static"])], cwd=REPO,
                         capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Detections"
