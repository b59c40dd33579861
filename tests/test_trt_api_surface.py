"""TensorRT API-surface tests: each version's code path against a strict fake of that version's API.

NOT TensorRT. TensorRT cannot run here, so for 8.6, 10.x and 11.x a small ``tensorrt``
module is built that exposes *only* the classes, enum members, methods and properties the
version documents for the calls tsmdet makes (sources in docs/jetson.md, "TensorRT
versions"); anything else raises AttributeError, and members the version marks deprecated
are recorded when touched. The fake builder checks what the real one would refuse (no
explicit batch on 8.6, precision flags or a calibrator on a strongly typed network, a
dynamic input without a profile, profile shapes that disagree with the ONNX), drives our
INT8 calibrator on 8.6 like TensorRT does (get_batch until None, then the cache) and
returns engine bytes that describe the build; the fake runtime serves those bytes to
``TrtEngine``, whose setup, I/O checks and one frame run against it with host memory in
place of cuda-python.
"""
from __future__ import annotations

import ctypes
import json
import sys
import types
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from fake_cudart import install_host_cudart
from toy_detector import export_toy, random_frames
from tsmdet.deploy.tensorrt import build_engine, onnx_precision, plan_build, trt_path, trtexec_command

# What each version documents for the calls we make. "deprecated" members still work.
SPECS = {
    "8.6.2": {
        "network_flags": {"EXPLICIT_BATCH": 0, "EXPLICIT_PRECISION": 1}, "deprecated": {"EXPLICIT_PRECISION"},
        "builder_flags": ("FP16", "INT8", "TF32", "REFIT"), "fast_fp16": True, "calibrator": True,
    },
    "10.3.0": {  # JetPack 6.1 / 6.2
        "network_flags": {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1},
        "deprecated": {"EXPLICIT_BATCH", "IInt8EntropyCalibrator2", "int8_calibrator",
                       "set_calibration_profile"},
        "builder_flags": ("FP16", "INT8", "BF16", "FP8", "TF32", "REFIT"),
        "fast_fp16": True, "calibrator": True,
    },
    "11.1.0": {  # precision flags, calibrator API and platform_has_fast_fp16 removed
        "network_flags": {"STRONGLY_TYPED": 0}, "deprecated": {"STRONGLY_TYPED"},
        "builder_flags": ("REFIT", "DEBUG"), "fast_fp16": False, "calibrator": False,
    },
}
_DTYPES = {TensorProto.FLOAT: "FLOAT", TensorProto.FLOAT16: "HALF", TensorProto.INT32: "INT32",
           TensorProto.INT64: "INT64", TensorProto.BOOL: "BOOL", TensorProto.INT8: "INT8"}


class _Member(int):
    """An enum member: an int with a name, as pybind11 enums are."""

    def __new__(cls, value: int, name: str):
        member = super().__new__(cls, value)
        member.name = name
        return member


class _Enum:
    """Only the listed members; a deprecated one is recorded when read."""

    def __init__(self, trt, kind: str, members: dict[str, int], deprecated=frozenset()):
        self._trt, self._kind, self._deprecated = trt, kind, set(deprecated)
        self._members = {n: _Member(v, n) for n, v in members.items()}

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self._members:
            raise AttributeError(f"TensorRT {self.__dict__.get('_trt').__version__}: no {self._kind}.{name}")
        if name in self._deprecated:
            self._trt.deprecated_used.append(f"{self._kind}.{name}")
        return self._members[name]


class _Strict:
    """Attributes outside ``_settable`` cannot be set (as on pybind11 objects)."""

    _settable: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value) -> None:
        if not name.startswith("_") and name not in self._settable:
            raise AttributeError(f"{type(self).__name__} has no settable attribute {name!r}")
        object.__setattr__(self, name, value)


def strict_tensorrt(version: str) -> types.ModuleType:
    """A ``tensorrt`` module with exactly ``version``'s documented surface (see SPECS)."""
    spec = SPECS[version]
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.calls, trt.deprecated_used = [], []
    trt.NetworkDefinitionCreationFlag = _Enum(trt, "NetworkDefinitionCreationFlag", spec["network_flags"],
                                              spec["deprecated"])
    trt.BuilderFlag = _Enum(trt, "BuilderFlag", {n: i for i, n in enumerate(spec["builder_flags"])})
    trt.MemoryPoolType = _Enum(trt, "MemoryPoolType", {"WORKSPACE": 0})
    trt.TensorIOMode = _Enum(trt, "TensorIOMode", {"NONE": 0, "INPUT": 1, "OUTPUT": 2})
    trt.DataType = _Enum(trt, "DataType", {n: i for i, n in enumerate(sorted(set(_DTYPES.values())))})

    class Logger(_Strict):
        WARNING = 2

        def __init__(self, severity=None):
            trt.calls.append("Logger")

    class Network(_Strict):
        def __init__(self, flags: int):
            self._flags = flags
            self._inputs: dict[str, list[int]] = {}
            self._outputs: dict[str, tuple[list[int], str]] = {}

    class OnnxParser(_Strict):
        def __init__(self, network: Network, logger: Logger):
            self._network, self._errors = network, []

        def parse_from_file(self, path: str) -> bool:
            trt.calls.append("OnnxParser.parse_from_file")
            if version.startswith("8.") and not self._network._flags & (1 << 0):
                self._errors.append("Network must have explicit batch (EXPLICIT_BATCH flag)")
                return False
            graph = onnx.load(path).graph
            dims = lambda vi: [d.dim_value if d.HasField("dim_value") else -1  # noqa: E731
                               for d in vi.type.tensor_type.shape.dim]
            self._network._inputs = {i.name: dims(i) for i in graph.input}
            self._network._outputs = {o.name: (dims(o), _DTYPES[o.type.tensor_type.elem_type])
                                      for o in graph.output}
            return True

        @property
        def num_errors(self) -> int:
            return len(self._errors)

        def get_error(self, i: int) -> str:
            return self._errors[i]

    class Profile(_Strict):
        def __init__(self):
            self._shapes: dict[str, tuple] = {}

        def set_shape(self, name, min, opt, max):  # noqa: A002 (TensorRT's parameter names)
            self._shapes[name] = (tuple(min), tuple(opt), tuple(max))

    class Config(_Strict):
        _settable = frozenset({"int8_calibrator"} if spec["calibrator"] else set())

        def __init__(self):
            self._flags, self._profiles, self._pool = [], [], None
            self._calibration_profile = None
            if spec["calibrator"]:
                object.__setattr__(self, "int8_calibrator", None)

        def set_memory_pool_limit(self, pool, size: int) -> None:
            self._pool = (pool.name, size)

        def set_flag(self, flag) -> None:
            trt.calls.append(f"IBuilderConfig.set_flag({flag.name})")
            self._flags.append(flag.name)

        def add_optimization_profile(self, profile: Profile) -> int:
            self._profiles.append(profile)
            return len(self._profiles) - 1

        def __getattribute__(self, name: str):
            if name in spec["deprecated"]:
                trt.deprecated_used.append(f"IBuilderConfig.{name}")
            return object.__getattribute__(self, name)

    if spec["calibrator"]:
        def set_calibration_profile(self, profile: Profile) -> None:
            self._calibration_profile = profile
        Config.set_calibration_profile = set_calibration_profile

    class Builder(_Strict):
        def __init__(self, logger: Logger):
            trt.calls.append("Builder")

        def create_network(self, flags: int = 0) -> Network:
            trt.calls.append(f"Builder.create_network({flags})")
            return Network(flags)

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network: Network, config: Config) -> bytes | None:
            trt.calls.append("Builder.build_serialized_network")
            strongly_typed = version.startswith("11.") or bool(
                "STRONGLY_TYPED" in spec["network_flags"] and network._flags & (1 << spec["network_flags"]
                                                                                 ["STRONGLY_TYPED"]))
            calibrator = object.__getattribute__(config, "int8_calibrator") if spec["calibrator"] else None
            if strongly_typed and ({"FP16", "INT8", "BF16", "FP8"} & set(config._flags) or calibrator):
                return None  # precision flags / calibration are errors on a strongly typed network
            profile = config._profiles[0]._shapes if config._profiles else {}
            for name, dims in network._inputs.items():
                if -1 in dims and name not in profile:
                    return None  # a dynamic input needs an optimization profile
                if name in profile and any(len(s) != len(dims)
                                           or any(d not in (-1, v) for d, v in zip(dims, s))
                                           for s in profile[name]):
                    return None  # profile shape disagrees with the network
            batches = _calibrate(calibrator, network) if calibrator is not None else 0
            return json.dumps({
                "version": version, "strongly_typed": strongly_typed, "flags": sorted(config._flags),
                "inputs": network._inputs, "outputs": network._outputs, "profile": profile,
                "calibrated_batches": batches, "calibration_profile": config._calibration_profile is not None,
            }).encode()

    if spec["fast_fp16"]:
        def platform_has_fast_fp16(self) -> bool:
            if version.startswith("10."):
                trt.deprecated_used.append("Builder.platform_has_fast_fp16")  # deprecated in 10.5
            return True
        Builder.platform_has_fast_fp16 = property(platform_has_fast_fp16)

    if spec["calibrator"]:
        class IInt8EntropyCalibrator2:
            def __init__(self):
                if "IInt8EntropyCalibrator2" in spec["deprecated"]:
                    trt.deprecated_used.append("IInt8EntropyCalibrator2")
        trt.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2

    def _calibrate(calibrator, network: Network) -> int:
        """What TensorRT does with a calibrator: a cache if there is one, else batches until None."""
        if calibrator.read_calibration_cache():
            return 0
        names, count = list(network._inputs), 0
        trt.calibrator, calibrator.seen_states = calibrator, []
        while (ptrs := calibrator.get_batch(names)) is not None:
            n = int(np.prod([calibrator.get_batch_size(), *network._inputs[names[1]][1:]]))
            state = (ctypes.c_float * n).from_address(ptrs[1])  # the state_0 batch on the "device"
            calibrator.seen_states.append(np.ctypeslib.as_array(state).copy())
            count += 1
        calibrator.write_calibration_cache(b"TRT-calibration-cache")
        return count

    class Engine(_Strict):
        def __init__(self, built: dict):
            self._built = built
            self._io = [*built["inputs"], *built["outputs"]]

        @property
        def num_io_tensors(self) -> int:
            return len(self._io)

        def get_tensor_name(self, i: int) -> str:
            return self._io[i]

        def get_tensor_mode(self, name: str):
            return trt.TensorIOMode.INPUT if name in self._built["inputs"] else trt.TensorIOMode.OUTPUT

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            dims = self._built["inputs"].get(name) or self._built["outputs"][name][0]
            return tuple(dims)

        def get_tensor_dtype(self, name: str):
            return getattr(trt.DataType, self._built["outputs"].get(name, (None, "FLOAT"))[1])

        def get_tensor_profile_shape(self, name: str, profile_index: int):
            return tuple(tuple(s) for s in self._built["profile"][name])

        def create_execution_context(self):
            return Context(self)

    class Context(_Strict):
        def __init__(self, engine: Engine):
            self._engine, self._shapes, self._addresses = engine, {}, {}

        def set_input_shape(self, name: str, shape) -> bool:
            self._shapes[name] = tuple(shape)
            return True

        def set_tensor_address(self, name: str, ptr: int) -> bool:
            self._addresses[name] = ptr
            return True

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            batch = self._shapes[next(iter(self._engine._built["inputs"]))][0]
            dims = self._engine._built["outputs"][name][0]
            return (batch, *dims[1:])

        def execute_async_v3(self, stream_handle: int) -> bool:
            trt.calls.append("IExecutionContext.execute_async_v3")
            io = self._engine._io
            return set(self._addresses) == set(io) and set(self._shapes) == set(self._engine._built["inputs"])

    class Runtime(_Strict):
        def __init__(self, logger: Logger):
            trt.calls.append("Runtime")

        def deserialize_cuda_engine(self, data: bytes) -> Engine:
            return Engine(json.loads(bytes(data)))

    trt.Logger, trt.Builder, trt.OnnxParser, trt.Runtime = Logger, Builder, OnnxParser, Runtime
    return trt


@pytest.fixture()
def fake_trt(monkeypatch):
    """Install the strict fake of one version (and host-memory cuda-python); returns a factory."""
    install_host_cudart(monkeypatch)

    def install(version: str) -> types.ModuleType:
        trt = strict_tensorrt(version)
        monkeypatch.setitem(sys.modules, "tensorrt", trt)
        return trt
    return install


def _insert_before_consumers(model: onnx.ModelProto, tensor: str, nodes: list, out: str,
                             inits=()) -> onnx.ModelProto:
    """Route every consumer of ``tensor`` through ``nodes`` (whose last output is ``out``)."""
    graph = model.graph
    old = list(graph.node)
    for node in old:
        node.input[:] = [out if i == tensor else i for i in node.input]
    del graph.node[:]
    graph.node.extend([*nodes, *old])
    graph.initializer.extend(inits)
    onnx.checker.check_model(model)
    return model


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory) -> dict[str, Path]:
    """The toy detector exported fp32 (static and dynamic batch), an fp16 variant and a QDQ variant."""
    root = tmp_path_factory.mktemp("surface")
    files = {"fp32": export_toy(root / "fp32.onnx", dynamic_batch=True),
             "static": export_toy(root / "static.onnx", dynamic_batch=False)}
    fp16 = onnx.load(str(files["fp32"]))  # image -> fp16 -> fp32: the graph now holds float16 tensors
    _insert_before_consumers(fp16, "image", [
        helper.make_node("Cast", ["image"], ["image_h"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["image_h"], ["image_f"], to=TensorProto.FLOAT)], "image_f")
    onnx.save(fp16, str(root / "fp16.onnx"))
    qdq = onnx.load(str(files["fp32"]))  # image -> QuantizeLinear -> DequantizeLinear
    _insert_before_consumers(qdq, "image", [
        helper.make_node("QuantizeLinear", ["image", "s", "z"], ["image_q"]),
        helper.make_node("DequantizeLinear", ["image_q", "s", "z"], ["image_dq"])], "image_dq",
        [helper.make_tensor("s", TensorProto.FLOAT, [], [1.0]),
         helper.make_tensor("z", TensorProto.UINT8, [], [0])])
    onnx.save(qdq, str(root / "int8.onnx"))
    files.update(fp16=root / "fp16.onnx", int8=root / "int8.onnx")
    return files


def test_onnx_precision_reads_the_graph(onnx_files):
    assert {k: onnx_precision(p) for k, p in onnx_files.items()} == {
        "fp32": "fp32", "static": "fp32", "fp16": "fp16", "int8": "int8"}


def test_version_paths():
    assert [trt_path(v) for v in ("8.5.2", "8.6.2", "10.0.1", "10.3.0", "10.14.1", "11.0.0", "11.4.1")] == [
        "8.6", "8.6", "10", "10", "10", "11", "11"]
    for bad in ("7.2.3", "9.2.0", "x.y"):
        with pytest.raises(ValueError):
            trt_path(bad)


def _build(onnx_path: Path, tmp_path: Path, **kw) -> tuple[Path, dict]:
    engine = build_engine(onnx_path, cache_dir=tmp_path / "cache", max_batch=2, opt_batch=2, **kw)
    return engine, json.loads(engine.read_bytes())


@pytest.mark.parametrize(("version", "kind", "precision", "flags", "strongly_typed"), [
    ("8.6.2", "fp32", "fp32", [], False),
    ("8.6.2", "fp32", "fp16", ["FP16"], False),
    ("8.6.2", "int8", "int8", ["FP16", "INT8"], False),  # QDQ: INT8 flag, no calibrator
    ("10.3.0", "fp32", "fp32", [], True),
    ("10.3.0", "fp16", "fp16", [], True),
    ("10.3.0", "int8", "int8", [], True),
    ("10.3.0", "fp32", "fp16", ["FP16"], False),  # the documented weakly typed fallback
    ("11.1.0", "fp32", "fp32", [], True),
    ("11.1.0", "fp16", "fp16", [], True),
    ("11.1.0", "int8", "int8", [], True),
])
def test_api_surface_build_and_run(fake_trt, onnx_files, tmp_path, version, kind, precision, flags,
                                   strongly_typed):
    """Builder end to end on the toy ONNX, then TrtEngine setup, I/O checks and one frame, on each version."""
    from tsmdet.runtime.trt_engine import TrtEngine

    trt = fake_trt(version)
    engine_path, built = _build(onnx_files[kind], tmp_path, precision=precision)
    assert built["version"] == version and built["flags"] == flags
    assert built["strongly_typed"] == strongly_typed
    assert built["profile"]["image"][2][0] == 2 and set(built["profile"]) == {"image", "state_0", "state_1"}
    expected_network = {"8.6.2": "Builder.create_network(1)", "10.3.0": "Builder.create_network(2)",
                        "11.1.0": "Builder.create_network(0)"}[version]
    if version == "10.3.0" and not strongly_typed:
        expected_network = "Builder.create_network(0)"
    assert expected_network in trt.calls
    side = json.loads(Path(f"{engine_path}.meta.json").read_text())["extra"]["trt_build"]
    assert side["onnx_precision"] == kind and side["strongly_typed"] == strongly_typed
    if version != "8.6.2":
        assert "Builder.platform_has_fast_fp16" not in trt.deprecated_used
    if strongly_typed:
        assert trt.deprecated_used == [], "a strongly typed build touches nothing deprecated"

    with TrtEngine(engine_path, num_streams=2) as engine:
        assert engine.max_batch == 2
        assert engine._outputs["labels"][1] == np.int32 and engine._outputs["scores"][1] == np.float32
        results = engine.infer(random_frames(2, (64, 48), seed=3))  # outputs stay zero: no detections
        assert [len(r.scores) for r in results] == [0, 0]
    assert "IExecutionContext.execute_async_v3" in trt.calls


def test_api_surface_86_int8_calibrates_with_states(fake_trt, onnx_files, tmp_path):
    """8.6: the IInt8EntropyCalibrator2 subclass is driven like TensorRT drives it, cache written."""
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(random_frames(4, (60, 40), seed=5)):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    trt = fake_trt("8.6.2")
    cache = tmp_path / "toy.calib"
    _, built = _build(onnx_files["fp32"], tmp_path, precision="int8", calib_source=folder, calib_frames=4,
                      calib_cache=cache)
    assert built["flags"] == ["FP16", "INT8"] and not built["strongly_typed"]
    assert built["calibrated_batches"] == 2 and built["calibration_profile"]  # 4 frames at opt batch 2
    assert cache.read_bytes() == b"TRT-calibration-cache"
    assert trt.deprecated_used == []
    # The states entering each frame: zeros for frame 0 (row 0 of batch 0), real caches after it.
    first, second = (s.reshape(2, -1) for s in trt.calibrator.seen_states)
    assert not first[0].any() and first[1].any() and second.all(axis=1).any()


@pytest.mark.parametrize("version", ["10.3.0", "11.1.0"])
def test_api_surface_strongly_typed_refuses_other_precisions(fake_trt, onnx_files, tmp_path, version):
    """10.x / 11.x take the precision from the graph: a mismatch is a clear error before any build."""
    trt = fake_trt(version)
    with pytest.raises(ValueError, match="tools/quantize.py"):  # int8 from an fp32 graph: no calibrator
        build_engine(onnx_files["fp32"], precision="int8", calib_cache=tmp_path / "x.calib",
                     calib_source=tmp_path, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="fp16 ONNX, but this ONNX is int8"):
        build_engine(onnx_files["int8"], precision="fp16", cache_dir=tmp_path)
    if version.startswith("11"):
        with pytest.raises(ValueError, match="--precision fp16"):  # no weakly typed fallback left
            build_engine(onnx_files["fp32"], precision="fp16", cache_dir=tmp_path)
    assert "Builder.build_serialized_network" not in trt.calls


def test_trtexec_command_per_version():
    from toy_detector import toy_meta

    meta = toy_meta(batch_size=1)
    cmd = {(p, k, prec): trtexec_command("m.onnx", meta, prec, None, 1.0, "m.engine", "m.calib",
                                         plan_build(p, prec, k))
           for p, k, prec in [("8.6", "fp32", "fp16"), ("8.6", "int8", "int8"), ("8.6", "fp32", "int8"),
                              ("10", "fp16", "fp16"), ("10", "int8", "int8"), ("10", "fp32", "fp16"),
                              ("11", "fp32", "fp32"), ("11", "int8", "int8")]}
    tail = lambda c: c.split("--memPoolSize=workspace:1024")[1].strip()  # noqa: E731
    assert tail(cmd["8.6", "fp32", "fp16"]) == "--fp16"
    assert tail(cmd["8.6", "int8", "int8"]) == "--fp16 --int8"  # QDQ: no calibration cache
    assert tail(cmd["8.6", "fp32", "int8"]) == "--fp16 --int8 --calib=m.calib"
    assert tail(cmd["10", "fp16", "fp16"]) == tail(cmd["10", "int8", "int8"]) == "--stronglyTyped"
    assert tail(cmd["10", "fp32", "fp16"]) == "--fp16"
    assert tail(cmd["11", "fp32", "fp32"]) == tail(cmd["11", "int8", "int8"]) == ""


def test_fakes_are_strict():
    """The fakes would catch a call outside a version's surface."""
    trt11 = strict_tensorrt("11.1.0")
    with pytest.raises(AttributeError):
        trt11.BuilderFlag.FP16
    with pytest.raises(AttributeError):
        trt11.IInt8EntropyCalibrator2
    with pytest.raises(AttributeError):
        trt11.NetworkDefinitionCreationFlag.EXPLICIT_BATCH
    builder = trt11.Builder(trt11.Logger())
    with pytest.raises(AttributeError):
        builder.platform_has_fast_fp16
    config = builder.create_builder_config()
    with pytest.raises(AttributeError):
        config.int8_calibrator = object()
    with pytest.raises(AttributeError):
        config.set_calibration_profile(None)
    with pytest.raises(AttributeError):
        config.max_workspace_size = 1  # removed in 10.0
    trt8 = strict_tensorrt("8.6.2")
    with pytest.raises(AttributeError):
        trt8.NetworkDefinitionCreationFlag.STRONGLY_TYPED
    trt10 = strict_tensorrt("10.3.0")
    trt10.NetworkDefinitionCreationFlag.EXPLICIT_BATCH
    assert trt10.deprecated_used == ["NetworkDefinitionCreationFlag.EXPLICIT_BATCH"]
    with pytest.raises(AttributeError):
        trt10.Runtime(trt10.Logger()).deserialize_cuda_engine(
            b'{"inputs": {}, "outputs": {}}').get_binding_shape("image")  # binding API: removed in 10.0


def test_api_surface_engine_with_fp16_states_is_refused(fake_trt, onnx_files, tmp_path):
    """TrtEngine sizes states as float32: an engine whose state output is HALF is an error, not garbage."""
    from tsmdet.runtime.trt_engine import TrtEngine

    fake_trt("11.1.0")
    engine_path, built = _build(onnx_files["fp32"], tmp_path, precision="fp32")
    built["outputs"]["state_out_1"][1] = "HALF"
    engine_path.write_bytes(json.dumps(built).encode())
    with pytest.raises(ValueError, match="state_out_1"):
        TrtEngine(engine_path)


def test_trtexec_commands_in_docs_match_the_builder():
    """docs/jetson.md's trtexec line of every build is what trtexec.py writes for that build's plan."""
    from toy_detector import toy_meta

    doc = (Path(__file__).resolve().parents[1] / "docs" / "jetson.md").read_text()
    block = doc.split("### The trtexec equivalent", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    block = block.replace("\\\n", " ")
    builds = {"fp32": ("fp32", "fp32"), "fp16": ("fp16", "fp16"), "int8, QDQ": ("int8", "int8"),
              "int8 from our state calibration's cache": ("fp32", "int8"), "weak fp16 fallback": ("fp32", "fp16")}
    files = {"fp32": "model.onnx", "fp16": "model_fp16.onnx", "int8": "model_int8.onnx"}
    path, seen = None, []
    for line in block.splitlines():
        if line.startswith("# TensorRT "):
            path = line.split()[2].removesuffix(":").removesuffix(".x")
            continue
        if not line.startswith("trtexec "):
            continue
        command, comment = (part.strip() for part in line.split("#", 1))
        kind, precision = builds[comment]
        if path == "8.6" and comment == "fp16":
            kind = "fp32"  # 8.6 sets the builder flag on the fp32 file
        command = " ".join(command.split())
        expected = trtexec_command(files[kind], toy_meta(batch_size=1), precision, None, 2.0, "model.engine",
                                   "model.calib", plan_build(path, precision, kind, warn=False))
        assert command == expected, (path, comment)
        seen.append((path, comment))
    assert len(seen) == 11 and {p for p, _ in seen} == {"8.6", "10", "11"}
