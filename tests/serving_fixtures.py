"""Fixtures of the serving tests: a tiny exported model, its repository and a real tritonserver on loopback.

Imported by tests/test_serving*.py with ``from serving_fixtures import *`` (conftest.py is
shared and left alone). The server is nvidia-pytriton's binary from ``.venv-triton/``
(``scripts/setup_triton.sh``, run by ``scripts/setup.sh``); tests that need it are marked
``triton`` and skip, naming the reason, only where that binary is not installed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn
from toy_detector import add_meta, export_toy, random_frames

from tsmdet.runtime.meta import ModelMeta, StateSpec

TTL_S = 2.0  # short, so the eviction test waits only a few seconds
MAX_STREAMS = 8


@pytest.fixture(scope="session")
def toy_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy online detector (two shift caches, dynamic batch) exported with its metadata."""
    return export_toy(tmp_path_factory.mktemp("serving_model") / "toy.onnx", dynamic_batch=True)


@pytest.fixture(scope="session")
def toy_static_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_toy(tmp_path_factory.mktemp("serving_static") / "toy_static.onnx", dynamic_batch=False)


class ToyRecognizer(nn.Module):
    """A recognizer-shaped graph: ``(image, state_0) -> (scores (B, 5), state_out_0)``, one shifted block."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv2d(3, 4, 3, stride=4, padding=1)
        self.fc = nn.Linear(4, 5)

    def forward(self, image, state_0):
        f = self.conv(image / 255.0)  # (B, 4, 8, 12)
        mixed = torch.cat([state_0, f[:, 2:]], dim=1)  # channels 0..1 from the previous frame
        return self.fc(mixed.mean(dim=(2, 3))), f[:, :2]


def export_toy_recognizer(path: Path) -> Path:
    meta = ModelMeta(
        input_size=(48, 32),
        classes=tuple(f"action{i}" for i in range(5)),
        task="recognition",
        states=(StateSpec("state_0", "state_out_0", (1, 2, 8, 12)),),
        batch_size=-1,
        output_names=("scores",),
        model_name="toy_recognizer",
    )
    example = (torch.zeros(1, 3, 32, 48), torch.zeros(1, 2, 8, 12))
    names_in, names_out = ["image", "state_0"], ["scores", "state_out_0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            ToyRecognizer().eval(),
            example,
            str(path),
            input_names=names_in,
            output_names=names_out,
            opset_version=17,
            dynamic_axes={n: {0: "batch"} for n in names_in + names_out},
            dynamo=False,
        )
    onnx.save(add_meta(onnx.load(str(path)), meta), str(path))
    return path


@pytest.fixture(scope="session")
def toy_recognizer_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_toy_recognizer(tmp_path_factory.mktemp("serving_rec") / "toy_rec.onnx")


@pytest.fixture(scope="session")
def triton_install():
    """The installed server, or a skip saying why it is missing."""
    from tsmdet.serving.launcher import TritonNotInstalledError, find_triton

    try:
        return find_triton()
    except TritonNotInstalledError as exc:
        pytest.skip(f"tritonserver is not installed: {exc}")


@pytest.fixture(scope="session")
def triton_server(toy_onnx, toy_static_onnx, toy_recognizer_onnx, triton_install, tmp_path_factory):
    """A real tritonserver on free loopback ports serving Python-backend repositories of the toy detector
    as ``tsmdet`` (dynamic batch), ``toy_static`` (batch-1 graph: one graph call per frame) and the toy
    recognizer as ``toy_rec`` (same repository code, other outputs and task)."""
    from tsmdet.serving.launcher import TritonServer, free_port
    from tsmdet.serving.repository import ServingOptions, write_repository

    root = tmp_path_factory.mktemp("triton_repo")
    options = ServingOptions(
        max_streams=MAX_STREAMS, ttl_s=TTL_S, max_queue_delay_us=20000, intra_op_threads=1
    )
    repo = write_repository(toy_onnx, root / "repo", options=options)
    write_repository(toy_static_onnx, root / "repo", model_name="toy_static", options=options)
    write_repository(toy_recognizer_onnx, root / "repo", model_name="toy_rec", options=options)
    ports = set()
    while len(ports) < 3:
        ports.add(free_port())
    grpc, http, metrics = sorted(ports)
    server = TritonServer(
        repo.path("python"),
        grpc_port=grpc,
        http_port=http,
        metrics_port=metrics,
        log_file=root / "server.log",
        install=triton_install,
    )
    server.start(timeout_s=60)
    yield server
    server.stop()


def video_frames(seed: int, n: int = 40) -> list[np.ndarray]:
    """Frames of one "camera": smooth random BGR images (60x40, letterboxed by the engine)."""
    return random_frames(n, (60, 40), seed)
