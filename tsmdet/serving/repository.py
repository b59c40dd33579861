"""Write a Triton model repository for an exported online model, from the ONNX file's own metadata.

Three repositories side by side, each a complete ``--model-repository`` with the model under
the same name (so one client works against any of them)::

    REPO/python/<name>/config.pbtxt, 1/model.py, 1/model.onnx    runs here (CPU, nvidia-pytriton's server)
    REPO/onnxruntime/<name>/config.pbtxt, 1/model.onnx            GPU server, onnxruntime backend
    REPO/tensorrt/<name>/config.pbtxt, 1/ (put model.plan here)   GPU server, TensorRT plan built on that GPU

All three use the sequence batcher with the ``oldest`` strategy (streams batched together,
each stream's requests in order on one instance). The Python-backend model keeps the shift
caches itself (``tsmdet/serving/model.py``) and gets START/END/CORRID control inputs; the
GPU configurations declare the caches as Triton *implicit state* (``state_i`` in,
``state_out_i`` out, zeros at a sequence start), so the graph runs unchanged and the client
sends only the image. Names, shapes and dtypes come from the ONNX graph and its ``tsmdet``
metadata, never from the task: a recognizer's repository is written by the same code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsmdet.runtime import ModelMeta, read_onnx_meta

from .pbtxt import Enum, to_pbtxt, validate_config

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "tsmdet"
BACKENDS = ("python", "onnxruntime", "tensorrt")
LIVE_STREAMS = "tsmdet_live_streams"  # the Python model's extra output (tsmdet/serving/model.py)
META_PARAM = "tsmdet_meta"  # config parameter holding ModelMeta JSON: the client's source of truth
SHA_PARAM = "onnx_sha256"

# ONNX TensorProto element type -> Triton data type
_ONNX_TO_TRITON = {
    1: "TYPE_FP32",
    2: "TYPE_UINT8",
    3: "TYPE_INT8",
    5: "TYPE_INT16",
    6: "TYPE_INT32",
    7: "TYPE_INT64",
    9: "TYPE_BOOL",
    10: "TYPE_FP16",
    11: "TYPE_FP64",
    16: "TYPE_BF16",
}


@dataclass(frozen=True)
class Tensor:
    """One graph input or output: name, Triton data type, shape WITHOUT the batch axis (-1 = dynamic)."""

    name: str
    data_type: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class GraphIO:
    inputs: dict[str, Tensor]
    outputs: dict[str, Tensor]


@dataclass(frozen=True)
class ServingOptions:
    """What the sequence batcher is told; the same for every backend."""

    max_streams: int = 16  # candidate sequences batched together, and the largest batch
    ttl_s: float = (
        30.0  # idle stream timeout: Triton releases the sequence, the Python model drops its caches
    )
    max_queue_delay_us: int = 2000  # how long a batch may wait for more streams' frames
    instances: int = 1  # model instances (each owns its sequences)
    intra_op_threads: int = 0  # onnxruntime threads of the Python model (0: onnxruntime's default)

    def __post_init__(self) -> None:
        if self.max_streams < 1 or self.ttl_s <= 0 or self.max_queue_delay_us < 0 or self.instances < 1:
            raise ValueError(f"invalid serving options {self}")


@dataclass(frozen=True)
class Repository:
    root: Path
    model_name: str
    meta: ModelMeta

    def path(self, backend: str) -> Path:
        """The model repository folder for ``backend`` (pass it to ``--model-repository``)."""
        return self.root / backend


def _dims(shape: Any) -> tuple[int, ...]:
    return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in shape.dim)


def read_graph_io(onnx_path: str | Path) -> GraphIO:
    """Inputs and outputs of the graph with Triton data types; the leading (batch) axis is removed."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}

    def tensors(values) -> dict[str, Tensor]:
        out = {}
        for v in values:
            if v.name in initializers:
                continue
            elem = v.type.tensor_type.elem_type
            if elem not in _ONNX_TO_TRITON:
                raise ValueError(f"{onnx_path}: tensor {v.name!r} has ONNX element type {elem}, not servable")
            dims = _dims(v.type.tensor_type.shape)
            out[v.name] = Tensor(v.name, _ONNX_TO_TRITON[elem], dims[1:])
        return out

    return GraphIO(tensors(graph.input), tensors(graph.output))


def _check_meta(meta: ModelMeta, io: GraphIO, source: str) -> None:
    want_in = [meta.input_name, *(s.name for s in meta.states)]
    want_out = [*meta.output_names, *(s.output for s in meta.states)]
    missing = [n for n in want_in if n not in io.inputs] + [n for n in want_out if n not in io.outputs]
    if missing:
        raise ValueError(f"{source}: the graph lacks tensors its metadata names: {missing}")
    for spec in meta.states:
        if io.inputs[spec.name].dims != tuple(spec.shape[1:]):
            raise ValueError(
                f"{source}: state {spec.name} is {io.inputs[spec.name].dims} in the graph "
                f"but {spec.shape[1:]} in the metadata"
            )


def _tensor_entry(t: Tensor) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": t.name, "data_type": Enum(t.data_type), "dims": list(t.dims) or [1]}
    if not t.dims:  # a per-item scalar (num_dets: graph shape (B,)): Triton needs dims [1] + reshape to []
        entry["reshape"] = {"shape": []}
    return entry


def _batching(meta: ModelMeta, opts: ServingOptions) -> dict[str, Any]:
    return {
        "max_sequence_idle_microseconds": int(opts.ttl_s * 1e6),
        "oldest": {
            "max_candidate_sequences": opts.max_streams,
            "max_queue_delay_microseconds": opts.max_queue_delay_us,
        },
    }


def _max_batch(meta: ModelMeta, opts: ServingOptions) -> int:
    return opts.max_streams if meta.batch_size == -1 else 1


def _parameters(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"string_value": v}} for k, v in values.items()]


def python_config(
    name: str, meta: ModelMeta, io: GraphIO, opts: ServingOptions, sha256: str
) -> dict[str, Any]:
    """Python-backend model: caches kept by model.py per correlation ID (no implicit state there)."""
    control = [
        {"name": "START", "control": [{"kind": Enum("CONTROL_SEQUENCE_START"), "int32_false_true": [0, 1]}]},
        {"name": "END", "control": [{"kind": Enum("CONTROL_SEQUENCE_END"), "int32_false_true": [0, 1]}]},
        {
            "name": "CORRID",
            "control": [{"kind": Enum("CONTROL_SEQUENCE_CORRID"), "data_type": Enum("TYPE_UINT64")}],
        },
    ]
    io_json = {
        "input": meta.input_name,
        "outputs": list(meta.output_names),
        "batch": meta.batch_size,
        "states": [{"name": s.name, "output": s.output, "shape": list(s.shape)} for s in meta.states],
    }
    return {
        "name": name,
        "backend": "python",
        "max_batch_size": _max_batch(meta, opts),
        "input": [_tensor_entry(io.inputs[meta.input_name])],
        "output": [
            *(_tensor_entry(io.outputs[n]) for n in meta.output_names),
            _tensor_entry(Tensor(LIVE_STREAMS, "TYPE_INT32", ())),
        ],
        "sequence_batching": {**_batching(meta, opts), "control_input": control},
        "instance_group": [{"count": opts.instances, "kind": Enum("KIND_CPU")}],
        "parameters": _parameters(
            {
                META_PARAM: meta.to_json(),
                SHA_PARAM: sha256,
                "tsmdet_io": json.dumps(io_json),
                "onnx_file": "model.onnx",
                "ttl_s": repr(float(opts.ttl_s)),
                "intra_op_threads": str(opts.intra_op_threads),
            }
        ),
    }


def gpu_config(
    name: str, meta: ModelMeta, io: GraphIO, opts: ServingOptions, sha256: str, backend: str
) -> dict[str, Any]:
    """onnxruntime or TensorRT model on a GPU server: the shift caches as Triton implicit state."""
    states = []
    for spec in meta.states:
        t = io.inputs[spec.name]
        states.append(
            {
                "input_name": spec.name,
                "output_name": spec.output,
                "data_type": Enum(t.data_type),
                "dims": list(t.dims),
                "initial_state": [
                    {
                        "name": f"{spec.name}_zeros",
                        "data_type": Enum(t.data_type),
                        "dims": list(t.dims),
                        "zero_data": True,
                    }
                ],
            }
        )
    platform = {"onnxruntime": "onnxruntime_onnx", "tensorrt": "tensorrt_plan"}[backend]
    return {
        "name": name,
        "platform": platform,
        "max_batch_size": _max_batch(meta, opts),
        "input": [_tensor_entry(io.inputs[meta.input_name])],
        "output": [_tensor_entry(io.outputs[n]) for n in meta.output_names],
        "sequence_batching": {**_batching(meta, opts), "state": states},
        "instance_group": [{"count": opts.instances, "kind": Enum("KIND_GPU")}],
        "parameters": _parameters({META_PARAM: meta.to_json(), SHA_PARAM: sha256}),
    }


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_config(folder: Path, config: dict[str, Any]) -> None:
    text = to_pbtxt(config)
    try:
        validate_config(text, str(folder / "config.pbtxt"))
    except ImportError:
        logger.warning(
            "tritonclient[grpc] is not installed: %s/config.pbtxt written without schema check", folder
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.pbtxt").write_text(text)


def write_repository(
    onnx_path: str | Path,
    repo: str | Path,
    model_name: str = DEFAULT_MODEL_NAME,
    options: ServingOptions | None = None,
) -> Repository:
    """Write the three repositories under ``repo`` (replacing ``model_name`` there); returns where."""
    onnx_path, root = Path(onnx_path), Path(repo)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"{onnx_path}: no such ONNX file")
    opts = options or ServingOptions()
    meta = read_onnx_meta(str(onnx_path))
    io = read_graph_io(onnx_path)
    _check_meta(meta, io, str(onnx_path))
    sha = sha256_file(onnx_path)
    if meta.batch_size != -1:
        logger.warning(
            "%s has a static batch of %d: streams are served one frame per graph call; export with "
            "tools/export_onnx.py --dynamic-batch to batch streams together",
            onnx_path,
            meta.batch_size,
        )
    for backend in BACKENDS:
        folder = root / backend / model_name
        if folder.exists():
            shutil.rmtree(folder)
        if backend == "python":
            config = python_config(model_name, meta, io, opts, sha)
        else:
            config = gpu_config(model_name, meta, io, opts, sha, backend)
        _write_config(folder, config)
        version = folder / "1"
        version.mkdir()
        if backend == "python":
            shutil.copyfile(Path(__file__).with_name("model.py"), version / "model.py")
        if backend in ("python", "onnxruntime"):
            shutil.copyfile(onnx_path, version / "model.onnx")
        else:
            (version / "BUILD_PLAN_HERE.txt").write_text(
                "Build model.plan in this folder ON THE TARGET GPU "
                "(TensorRT plans are GPU- and version-specific):\n"
                f"  python tools/build_engine.py model.onnx --max-batch {_max_batch(meta, opts)} "
                "--out <this folder>/model.plan\n"
            )
    logger.info(
        "model repository %s: %s (%d states, %d B of caches per stream), max %d streams, ttl %.1f s",
        root,
        model_name,
        len(meta.states),
        meta.state_bytes_per_stream,
        opts.max_streams,
        opts.ttl_s,
    )
    return Repository(root, model_name, meta)
