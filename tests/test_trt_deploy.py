"""TensorRT deploy side: operator check, INT8 calibration data, engine cache key, build tool.

What needs TensorRT itself is marked ``trt`` and skipped where ``tensorrt`` does not import;
everything before the TensorRT call (and the same behaviour on onnxruntime) is tested here.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from fake_cudart import install_host_cudart
from toy_detector import INPUT_H, INPUT_W, ToyOnlineDetector, export_toy, random_frames, toy_meta, zero_states
from tsmdet.deploy.tensorrt import (
    BatchProfile, CalibrationBatches, batch_profile, build_engine, engine_cache_key, read_calibration_cache,
    trtexec_command, write_calibration_cache,
)
from tsmdet.deploy.trt_ops import (
    TRT_SUPPORTED_OPS, UnsupportedOperatorError, check_trt_compatible, unsupported_ops,
)
from tsmdet.runtime import EngineUnavailableError, letterbox

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
REPO = Path(__file__).resolve().parents[1]


def _trt_ready() -> bool:
    if not HAS_TRT:
        return False
    try:
        from tsmdet.runtime.cuda_memory import cuda_device_count

        return cuda_device_count() > 0
    except EngineUnavailableError:
        return False


needs_trt = pytest.mark.skipif(not _trt_ready(), reason="needs TensorRT, cuda-python and a CUDA GPU")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("toy")
    return {"static": export_toy(root / "static.onnx", dynamic_batch=False),
            "dynamic": export_toy(root / "dynamic.onnx", dynamic_batch=True)}


def planted_model() -> onnx.ModelProto:
    """Relu -> 2 custom-domain ops -> If whose then-branch hides a Hardmax (not supported by TensorRT)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    then_out = helper.make_tensor_value_info("then_out", TensorProto.FLOAT, [1, 4])
    else_out = helper.make_tensor_value_info("else_out", TensorProto.FLOAT, [1, 4])
    then_graph = helper.make_graph([helper.make_node("Hardmax", ["f2"], ["then_out"], name="hidden_hardmax")],
                                   "then", [], [then_out])
    else_graph = helper.make_graph([helper.make_node("Identity", ["f2"], ["else_out"], name="plain")],
                                   "else", [], [else_out])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Frobnicate", ["r"], ["f1"], name="frob_a", domain="com.acme"),
        helper.make_node("Frobnicate", ["f1"], ["f2"], name="frob_b", domain="com.acme"),
        helper.make_node("If", ["cond"], ["y"], name="branch",
                         then_branch=then_graph, else_branch=else_graph),
    ]
    cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
    graph = helper.make_graph(nodes, "planted", [x], [y], initializer=[cond])
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.acme", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def reference_states(frames: list[np.ndarray]) -> list[list[np.ndarray]]:
    """States entering each frame, from the toy module in torch (independent of onnxruntime)."""
    module = ToyOnlineDetector().eval()
    states, entering = zero_states(), []
    for frame in frames:
        entering.append(states)
        image, _ = letterbox(frame, (INPUT_W, INPUT_H))
        with torch.no_grad():
            out = module(torch.from_numpy(image[None]), *map(torch.from_numpy, states))
        states = [o.numpy() for o in out[4:]]
    return entering


# ---------------------------------------------------------------------- operator check
def test_operator_check_passes_toy_model(toy):
    assert unsupported_ops(toy["dynamic"]) == {}
    check_trt_compatible(toy["static"])


def test_operator_check_lists_planted_ops_including_subgraphs(tmp_path):
    model = planted_model()
    assert unsupported_ops(model) == {"com.acme::Frobnicate": 2, "Hardmax": 1}
    path = tmp_path / "planted.onnx"
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedOperatorError) as err:
        check_trt_compatible(path)
    message = str(err.value)
    assert "com.acme::Frobnicate x2" in message and "frob_a, frob_b" in message
    assert "Hardmax x1" in message and "hidden_hardmax" in message
    assert "Relu" not in message and "If x" not in message
    check_trt_compatible(model, allow=frozenset({"com.acme::Frobnicate", "Hardmax"}))


def test_supported_list_is_conservative():
    detector_ops = {"Conv", "Relu", "Concat", "Slice", "TopK", "Resize", "RoiAlign", "If", "Loop"}
    assert detector_ops <= TRT_SUPPORTED_OPS
    unsupported = {"Hardmax", "Unique", "ConvInteger", "SequenceAt", "ImageScaler", "Upsample"}
    assert not unsupported & TRT_SUPPORTED_OPS


# ---------------------------------------------------------------------- calibration data
def _write_pngs(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:05d}.png"), frame)
    return folder


def test_calibration_batches_from_image_folder(toy, tmp_path):
    frames = random_frames(5, (60, 40), seed=11)
    folder = _write_pngs(tmp_path / "frames", frames)
    expected_states = reference_states(frames)

    batches = list(CalibrationBatches(toy["static"], folder, num_frames=5, batch_size=1))
    assert len(batches) == 5
    for frame, states, batch in zip(frames, expected_states, batches):
        assert set(batch) == {"image", "state_0", "state_1"}
        assert batch["image"].dtype == np.float32 and batch["image"].shape == (1, 3, INPUT_H, INPUT_W)
        np.testing.assert_array_equal(batch["image"][0], letterbox(frame, (INPUT_W, INPUT_H))[0])
        for name, ref in zip(("state_0", "state_1"), states):
            assert batch[name].dtype == np.float32 and batch[name].flags.c_contiguous
            np.testing.assert_allclose(batch[name], ref, atol=1e-5)
    assert np.abs(batches[-1]["state_0"]).sum() > 0, "states after the first frame are not zeros"

    # dynamic batch: consecutive frames share a batch, the leftover frame is skipped; frame limit honoured
    batches = list(CalibrationBatches(toy["dynamic"], folder, num_frames=5, batch_size=2))
    assert len(batches) == 2 and batches[0]["image"].shape == (2, 3, INPUT_H, INPUT_W)
    assert batches[1]["state_0"].shape == (2, 2, 8, 12) and batches[1]["state_1"].shape == (2, 1, 4, 6)
    np.testing.assert_allclose(batches[1]["state_0"][1], expected_states[3][0][0], atol=1e-5)
    assert len(list(CalibrationBatches(toy["static"], folder, num_frames=3))) == 3


def test_calibration_batches_from_video(toy, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write mp4v")
    for frame in random_frames(6, (64, 48), seed=12):
        writer.write(frame)
    writer.release()

    capture = cv2.VideoCapture(str(video))
    decoded = []
    while (ok_frame := capture.read())[0]:
        decoded.append(ok_frame[1])
    capture.release()
    assert len(decoded) == 6
    expected_states = reference_states(decoded)

    batches = list(CalibrationBatches(toy["dynamic"], video, num_frames=6, batch_size=3))
    assert len(batches) == 2
    for b, batch in enumerate(batches):
        for j in range(3):
            t = 3 * b + j
            np.testing.assert_array_equal(batch["image"][j], letterbox(decoded[t], (INPUT_W, INPUT_H))[0])
            np.testing.assert_allclose(batch["state_1"][j], expected_states[t][1][0], atol=1e-5)


def test_calibration_rejects_bad_inputs(toy, tmp_path):
    with pytest.raises(ValueError, match="static"):
        CalibrationBatches(toy["static"], tmp_path, batch_size=2)
    with pytest.raises(FileNotFoundError):
        list(CalibrationBatches(toy["static"], tmp_path / "missing.mp4"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no frames"):
        list(CalibrationBatches(toy["static"], tmp_path / "empty"))


def test_calibration_cache_round_trip(tmp_path):
    path = tmp_path / "sub" / "model.calib"
    assert read_calibration_cache(path) is None and read_calibration_cache(None) is None
    write_calibration_cache(path, b"TRT-8601-EntropyCalibration2\nimage: 3c010a14\n")
    assert read_calibration_cache(path) == b"TRT-8601-EntropyCalibration2\nimage: 3c010a14\n"


# ---------------------------------------------------------------------- cache key, profile, trtexec
def test_engine_cache_key_changes_with_every_input():
    base = dict(onnx_bytes=b"model", trt_version="10.3.0", gpu_name="Orin", precision="fp16",
                profile=BatchProfile(1, 4, 4))
    key = engine_cache_key(**base)
    assert key == engine_cache_key(**base) and len(key) == 64
    variants = [dict(onnx_bytes=b"model2"), dict(trt_version="8.6.2"), dict(gpu_name="NVIDIA H100"),
                dict(precision="int8"), dict(profile=BatchProfile(1, 2, 4)), dict(profile=None)]
    keys = {engine_cache_key(**{**base, **v}) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    assert engine_cache_key(**base, calibration="a") != engine_cache_key(**base, calibration="b")


def test_batch_profile_and_trtexec_command():
    assert batch_profile(toy_meta(batch_size=1), max_batch=1) is None
    assert batch_profile(toy_meta(batch_size=-1), max_batch=4, opt_batch=2) == BatchProfile(1, 2, 4)
    with pytest.raises(ValueError):
        batch_profile(toy_meta(batch_size=-1), max_batch=2, opt_batch=3)
    cmd = trtexec_command("m.onnx", toy_meta(batch_size=-1), "int8", BatchProfile(1, 2, 4), 2.0,
                          "m.engine", "m.calib")
    assert cmd.startswith("trtexec --onnx=m.onnx --saveEngine=m.engine --memPoolSize=workspace:2048")
    assert "--fp16" in cmd and "--int8 --calib=m.calib" in cmd
    assert f"--minShapes=image:1x3x{INPUT_H}x{INPUT_W},state_0:1x2x8x12,state_1:1x1x4x6" in cmd
    assert f"--maxShapes=image:4x3x{INPUT_H}x{INPUT_W}" in cmd
    static = trtexec_command("m.onnx", toy_meta(batch_size=1), "fp32", None, 1.0, "m.engine")
    assert "Shapes" not in static and "--fp16" not in static


# ---------------------------------------------------------------------- build without TensorRT
def test_build_engine_checks_come_before_tensorrt(toy, tmp_path):
    with pytest.raises(FileNotFoundError):
        build_engine(tmp_path / "missing.onnx")
    onnx.save(planted_model(), str(tmp_path / "planted.onnx"))
    with pytest.raises(UnsupportedOperatorError):
        build_engine(tmp_path / "planted.onnx")
    with pytest.raises(ValueError, match="int8 needs calibration"):
        build_engine(toy["static"], precision="int8", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="precision"):
        build_engine(toy["static"], precision="int4")


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_build_engine_without_tensorrt_says_what_to_install(toy, tmp_path):
    with pytest.raises(EngineUnavailableError, match="TensorRT is not installed"):
        build_engine(toy["dynamic"], max_batch=2, cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def _tool(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(REPO / "tools" / "build_engine.py"), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_build_tool_fails_clearly_without_tensorrt(toy, tmp_path):
    result = _tool(str(toy["dynamic"]), "--max-batch", "2", "--cache-dir", str(tmp_path))
    assert result.returncode != 0
    assert "TensorRT is not installed" in result.stderr and "python3-libnvinfer" in result.stderr
    assert "trtexec --onnx=" in result.stderr and "--maxShapes=image:2x3" in result.stderr

    missing = _tool(str(tmp_path / "nope.onnx"))
    assert missing.returncode != 0 and "not found" in missing.stderr
    onnx.save(planted_model(), str(tmp_path / "planted.onnx"))
    planted = _tool(str(tmp_path / "planted.onnx"))
    assert planted.returncode != 0 and "Hardmax" in planted.stderr
    assert "TensorRT is not installed" not in planted.stderr


def test_build_tool_help():
    result = _tool("--help")
    assert result.returncode == 0 and "--calib-cache" in result.stdout and "--max-batch" in result.stdout


# ---------------------------------------------------------------------- with TensorRT (skipped here)
@pytest.mark.trt
@needs_trt
def test_trt_engine_matches_onnxruntime(toy, tmp_path):
    from tsmdet.runtime.onnx_engine import OnnxEngine
    from tsmdet.runtime.trt_engine import TrtEngine

    path = build_engine(toy["dynamic"], precision="fp32", max_batch=2, cache_dir=tmp_path)
    mtime = path.stat().st_mtime_ns
    assert build_engine(toy["dynamic"], precision="fp32", max_batch=2, cache_dir=tmp_path) == path
    assert path.stat().st_mtime_ns == mtime, "a second build with the same key reuses the cached engine"

    a, b = random_frames(5, (64, 48), seed=21), random_frames(5, (40, 80), seed=22)
    with TrtEngine(path, num_streams=2) as trt_engine:
        reference = OnnxEngine(toy["dynamic"], num_streams=2)
        for t in range(5):
            pairs = zip(trt_engine.infer([a[t], b[t]]), reference.infer([a[t], b[t]])) if t % 2 == 0 else \
                zip(trt_engine.infer([b[t]], [1]) + trt_engine.infer([a[t]], [0]),
                    reference.infer([b[t]], [1]) + reference.infer([a[t]], [0]))
            for got, want in pairs:
                np.testing.assert_allclose(got.scores, want.scores, atol=1e-3)
                np.testing.assert_allclose(got.boxes, want.boxes, atol=1e-2)
        trt_engine.reset()
        reference.reset()
        first_trt, first_ref = trt_engine.infer([a[0]])[0], reference.infer([a[0]])[0]
        np.testing.assert_allclose(first_trt.scores, first_ref.scores, atol=1e-3)


def _qdq_toy(toy, tmp_path) -> Path:
    """The static toy quantized by onnxruntime (QDQ, per-channel weights) on a few letterboxed frames."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            frames = random_frames(4, (60, 40), seed=25)
            self._feeds = iter([{"image": letterbox(f, (INPUT_W, INPUT_H))[0][None],
                                 **{f"state_{k}": s for k, s in enumerate(zero_states())}} for f in frames])

        def get_next(self):
            return next(self._feeds, None)

    out = tmp_path / "toy_int8.onnx"
    quantize_static(str(toy["static"]), str(out), Frames(), quant_format=QuantFormat.QDQ, per_channel=True)
    return out


def test_qdq_onnx_is_int8_and_passes_the_operator_check(toy, tmp_path):
    from tsmdet.deploy.tensorrt import onnx_precision, plan_build

    qdq = _qdq_toy(toy, tmp_path)
    check_trt_compatible(qdq)
    assert onnx_precision(qdq) == "int8" and onnx_precision(toy["static"]) == "fp32"
    for path in ("10", "11"):
        plan = plan_build(path, "int8", onnx_precision(qdq))
        assert plan.strongly_typed and not plan.calibrator and plan.builder_flags == ()
    assert plan_build("8.6", "int8", "int8").builder_flags == ("FP16", "INT8")


@pytest.mark.trt
@needs_trt
def test_trt_int8_build_from_qdq(toy, tmp_path):
    from tsmdet.runtime.trt_engine import TrtEngine

    path = build_engine(_qdq_toy(toy, tmp_path), precision="int8", cache_dir=tmp_path / "engines")
    with TrtEngine(path) as engine:
        assert len(engine.infer(random_frames(1, (60, 40), seed=24))) == 1


@pytest.mark.trt
@needs_trt
def test_trt_int8_build_with_state_calibration(toy, tmp_path):
    import tensorrt

    from tsmdet.deploy.tensorrt import trt_path
    from tsmdet.runtime.trt_engine import TrtEngine

    if trt_path(tensorrt.__version__) != "8.6":
        pytest.skip("calibrating an fp32 ONNX is the TensorRT 8.6 path; 10.x / 11.x build int8 from QDQ")

    folder = _write_pngs(tmp_path / "frames", random_frames(8, (60, 40), seed=23))
    cache = tmp_path / "toy.calib"
    path = build_engine(toy["static"], precision="int8", calib_source=folder, calib_frames=8,
                        calib_cache=cache, cache_dir=tmp_path / "engines")
    assert cache.is_file() and cache.stat().st_size > 0
    with TrtEngine(path) as engine:
        assert len(engine.infer(random_frames(1, (60, 40), seed=24))) == 1


# ---------------------------------------------------------------------- TrtEngine bookkeeping, simulated
def _simulated_tensorrt(max_batch: int) -> types.ModuleType:
    """The slice of the tensorrt API TrtEngine uses; "engine files" hold an ONNX path run on onnxruntime."""
    import onnxruntime as ort

    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.3.0"
    trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, severity=None: None})
    trt.TensorIOMode = types.SimpleNamespace(INPUT="input", OUTPUT="output")
    data_type = types.SimpleNamespace(**{n: types.SimpleNamespace(name=n)
                                         for n in ("FLOAT", "INT32", "INT64")})
    trt.DataType = data_type
    ort_types = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64}
    trt_types = {np.float32: data_type.FLOAT, np.int32: data_type.INT32, np.int64: data_type.INT64}

    class Context:
        def __init__(self, engine):
            self.engine, self.shapes, self.addresses = engine, {}, {}

        def set_input_shape(self, name, shape):
            self.shapes[name] = tuple(shape)
            return True

        def set_tensor_address(self, name, ptr):
            self.addresses[name] = ptr
            return True

        def get_tensor_shape(self, name):
            return self.shapes[name]

        def execute_async_v3(self, stream_handle):
            feeds = {}
            for name in self.engine.inputs:
                dtype, shape = self.engine.dtypes[name], self.shapes[name]
                nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
                raw = (ctypes.c_char * nbytes).from_address(self.addresses[name])
                feeds[name] = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
            for name, value in zip(self.engine.outputs, self.engine.session.run(self.engine.outputs, feeds)):
                value = np.ascontiguousarray(value, dtype=self.engine.dtypes[name])
                ctypes.memmove(self.addresses[name], value.ctypes.data, value.nbytes)
                self.shapes[name] = value.shape
            return True

    class Engine:
        def __init__(self, onnx_path: str):
            self.session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
            io = [*self.session.get_inputs(), *self.session.get_outputs()]
            self.inputs = [i.name for i in self.session.get_inputs()]
            self.outputs = [o.name for o in self.session.get_outputs()]
            self.names = [t.name for t in io]
            self.static_shapes = {t.name: tuple(d if isinstance(d, int) else -1 for d in t.shape) for t in io}
            self.dtypes = {t.name: ort_types[t.type] for t in io}
            self.num_io_tensors = len(io)

        def get_tensor_name(self, i):
            return self.names[i]

        def get_tensor_mode(self, name):
            return trt.TensorIOMode.INPUT if name in self.inputs else trt.TensorIOMode.OUTPUT

        def get_tensor_shape(self, name):
            return self.static_shapes[name]

        def get_tensor_dtype(self, name):
            return trt_types[self.dtypes[name]]

        def get_tensor_profile_shape(self, name, profile):
            rest = self.static_shapes[name][1:]
            return (1, *rest), (max_batch, *rest), (max_batch, *rest)

        def create_execution_context(self):
            return Context(self)

    trt.Runtime = type("Runtime", (), {
        "__init__": lambda self, logger: None,
        "deserialize_cuda_engine": lambda self, data: Engine(data.decode()),
    })
    return trt


@pytest.mark.parametrize("kind", ["static", "dynamic"])
def test_trt_engine_state_bookkeeping_simulated(toy, tmp_path, monkeypatch, kind):
    """NOT TensorRT: a host-memory stand-in for tensorrt + cuda-python checks TrtEngine's own logic.

    Tensor-name binding, ping-pong state swaps, staging of batched slots, zeroing of fresh
    device memory and reset must give exactly the onnxruntime engine's results.
    """
    from tsmdet.runtime.meta import read_onnx_meta
    from tsmdet.runtime.onnx_engine import OnnxEngine
    from tsmdet.runtime.trt_engine import TrtEngine, meta_sidecar_path

    # fresh "device" memory is garbage (float32 0x47474747 = 51015.3): the engine must zero its states
    cudart = install_host_cudart(monkeypatch, fill=0x47)
    monkeypatch.setitem(sys.modules, "tensorrt", _simulated_tensorrt(max_batch=2))
    engine_path = tmp_path / f"{kind}.engine"
    engine_path.write_bytes(str(toy[kind]).encode())
    meta_sidecar_path(engine_path).write_text(read_onnx_meta(str(toy[kind])).to_json())

    a, b = random_frames(5, (64, 48), seed=31), random_frames(5, (40, 80), seed=32)
    simulated, reference = TrtEngine(engine_path, num_streams=2), OnnxEngine(toy[kind], num_streams=2)
    assert simulated.max_batch == (2 if kind == "dynamic" else 1)
    for t in range(5):
        if t % 2 == 0:
            got, want = simulated.infer([a[t], b[t]]), reference.infer([a[t], b[t]])
        else:
            got = simulated.infer([b[t]], [1]) + simulated.infer([a[t]], [0])
            want = reference.infer([b[t]], [1]) + reference.infer([a[t]], [0])
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.scores, w.scores, atol=1e-6)
            np.testing.assert_allclose(g.boxes, w.boxes, atol=1e-5)
            np.testing.assert_array_equal(g.labels, w.labels)
    simulated.reset(0)
    reference.reset(0)
    for g, w in zip(simulated.infer([a[0], b[0]]), reference.infer([a[0], b[0]])):
        np.testing.assert_allclose(g.scores, w.scores, atol=1e-6)
    simulated.close()
    assert not cudart.live, "close() frees every device buffer"
