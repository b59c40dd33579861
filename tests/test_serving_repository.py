"""Serving without a server: configs against Triton's schema, the Python model's state, client errors."""

from __future__ import annotations

import numpy as np
import pytest
from serving_fixtures import toy_onnx, toy_static_onnx  # noqa: F401  (fixtures)

from tsmdet.runtime import ModelMeta, read_onnx_meta
from tsmdet.serving.model import StreamStates, split_unique
from tsmdet.serving.pbtxt import ConfigError, Enum, to_pbtxt, validate_config
from tsmdet.serving.repository import META_PARAM, ServingOptions, read_graph_io, write_repository

pytest.importorskip(
    "tritonclient.grpc", reason="tritonclient[grpc] (requirements/pins.txt) ships model_config_pb2"
)
from tritonclient.grpc import model_config_pb2

DT = model_config_pb2.DataType
CTRL = model_config_pb2.ModelSequenceBatching.Control


def _parse(path):
    return validate_config(path.read_text(), str(path))


@pytest.fixture(scope="module")
def repo(toy_onnx, tmp_path_factory):  # noqa: F811
    return write_repository(
        toy_onnx,
        tmp_path_factory.mktemp("repo"),
        model_name="cams",
        options=ServingOptions(max_streams=12, ttl_s=7.5, max_queue_delay_us=300),
    )


def test_python_config_parses_with_sequence_controls(repo, toy_onnx):  # noqa: F811
    cfg = _parse(repo.path("python") / "cams" / "config.pbtxt")
    assert cfg.name == "cams" and cfg.backend == "python" and cfg.max_batch_size == 12
    seq = cfg.sequence_batching
    assert seq.WhichOneof("strategy_choice") == "oldest"
    assert seq.oldest.max_candidate_sequences == 12 and seq.oldest.max_queue_delay_microseconds == 300
    assert seq.max_sequence_idle_microseconds == 7_500_000
    kinds = {c.name: (c.control[0].kind, list(c.control[0].int32_false_true)) for c in seq.control_input}
    assert kinds["START"] == (CTRL.CONTROL_SEQUENCE_START, [0, 1])
    assert kinds["END"] == (CTRL.CONTROL_SEQUENCE_END, [0, 1])
    assert kinds["CORRID"][0] == CTRL.CONTROL_SEQUENCE_CORRID
    assert not seq.state  # the Python backend has no implicit state: model.py keeps the caches
    # inputs/outputs from the ONNX graph, batch axis removed; num_dets (B,) needs dims [1] + reshape []
    assert [(i.name, i.data_type, list(i.dims)) for i in cfg.input] == [("image", DT.TYPE_FP32, [3, 32, 48])]
    outs = {o.name: o for o in cfg.output}
    assert list(outs["boxes"].dims) == [6, 4] and outs["labels"].data_type == DT.TYPE_INT32
    assert list(outs["num_dets"].dims) == [1] and outs["num_dets"].HasField("reshape")
    assert list(outs["num_dets"].reshape.shape) == []
    # the metadata the client reads back is the exporter's, exactly
    assert ModelMeta.from_json(cfg.parameters[META_PARAM].string_value) == read_onnx_meta(str(toy_onnx))
    version = repo.path("python") / "cams" / "1"
    assert (version / "model.py").is_file() and (version / "model.onnx").read_bytes() == toy_onnx.read_bytes()


@pytest.mark.parametrize(
    "backend, platform", [("onnxruntime", "onnxruntime_onnx"), ("tensorrt", "tensorrt_plan")]
)
def test_gpu_configs_declare_the_caches_as_implicit_state(repo, toy_onnx, backend, platform):  # noqa: F811
    cfg = _parse(repo.path(backend) / "cams" / "config.pbtxt")
    assert (
        cfg.platform == platform
        and cfg.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    )
    assert not cfg.sequence_batching.control_input  # the graph has no START input; Triton resets the state
    meta = read_onnx_meta(str(toy_onnx))
    io = read_graph_io(toy_onnx)
    states = cfg.sequence_batching.state
    assert [(s.input_name, s.output_name) for s in states] == [(m.name, m.output) for m in meta.states]
    for state, spec in zip(states, meta.states):
        assert list(state.dims) == list(spec.shape[1:]) == list(io.inputs[spec.name].dims)
        assert state.data_type == DT.TYPE_FP32
        (init,) = state.initial_state
        assert init.zero_data and list(init.dims) == list(state.dims)
    assert [o.name for o in cfg.output] == list(meta.output_names)  # state outputs are not client outputs


def test_static_batch_graph_serves_batch_one(toy_static_onnx, tmp_path):  # noqa: F811
    repo = write_repository(toy_static_onnx, tmp_path / "r")
    for backend in ("python", "onnxruntime"):
        assert _parse(repo.path(backend) / "tsmdet" / "config.pbtxt").max_batch_size == 1


def test_invalid_config_is_rejected():
    text = to_pbtxt(
        {"name": "m", "backend": "python", "sequence_batching": {"oldest": {"max_candidates": 3}}}
    )
    with pytest.raises(ConfigError, match="max_candidates"):
        validate_config(text, "m/config.pbtxt")
    with pytest.raises(ConfigError, match="KIND_TPU"):
        validate_config(to_pbtxt({"name": "m", "instance_group": [{"kind": Enum("KIND_TPU")}]}))


def test_strings_round_trip_through_text_format():
    tricky = 'a "quoted" \\ back\nslash, café, 車'
    cfg = validate_config(
        to_pbtxt({"name": tricky, "parameters": [{"key": "k", "value": {"string_value": tricky}}]})
    )
    assert cfg.name == tricky and cfg.parameters["k"].string_value == tricky


def test_missing_onnx_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        write_repository(tmp_path / "nope.onnx", tmp_path / "r")


# ------------------------------------------------------------- the Python model's state store
def test_stream_states_ttl_eviction_with_a_fake_clock():
    now = [100.0]
    store = StreamStates([("state_0", "state_out_0", (1, 2, 3, 4))], ttl_s=5.0, clock=lambda: now[0])
    zeros = store.zeros()
    assert zeros[0].shape == (1, 2, 3, 4) and not zeros[0].any()
    store.put(1, [np.ones((1, 2, 3, 4), np.float32)])
    now[0] = 103.0
    store.put(2, [np.ones((1, 2, 3, 4), np.float32)])
    assert len(store) == 2 and store.nbytes == 2 * 96
    now[0] = 105.5  # stream 1 idle 5.5 s > ttl, stream 2 idle 2.5 s
    assert store.evict_expired() == [1]
    assert store.get(1) is None and store.get(2) is not None and store.nbytes == 96
    store.drop(2)
    assert len(store) == 0


def test_split_unique_keeps_each_streams_order():
    ids = [7, 8, 7, 9, 7, 8]
    groups = split_unique(ids)
    assert groups == [[0, 1, 3], [2, 5], [4]]
    for group in groups:
        assert len({ids[p] for p in group}) == len(group)


# --------------------------------------------------------------------- client errors, no server
def test_no_server_is_a_clear_error_naming_the_url():
    from tsmdet.runtime import EngineUnavailableError, create_engine
    from tsmdet.serving.launcher import free_port

    url = f"127.0.0.1:{free_port()}"
    with pytest.raises(EngineUnavailableError, match=f"no Triton server answers at {url}"):
        create_engine("triton", url, timeout_s=5)


def test_infer_stream_without_server_is_one_line_naming_the_url(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import cv2

    from tsmdet.serving.launcher import free_port

    url = f"127.0.0.1:{free_port()}"
    frame = tmp_path / "frames"
    frame.mkdir()
    cv2.imwrite(str(frame / "000.png"), np.zeros((40, 60, 3), np.uint8))
    res = subprocess.run(  # noqa: PLW1510  (the exit code is the point)
        [
            sys.executable,
            "tools/infer_stream.py",
            str(frame),
            "--engine",
            "triton",
            "--url",
            url,
            "--out-dir",
            str(tmp_path / "out"),
        ],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert f"error: no Triton server answers at {url}" in res.stderr
    assert "Traceback" not in res.stderr
