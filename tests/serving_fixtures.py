"""Fixtures of the serving tests: a tiny exported model, its repository and a real tritonserver on loopback.

Imported by tests/test_serving*.py with ``from serving_fixtures import *`` (conftest.py is
shared and left alone). The server is nvidia-pytriton's binary from ``.venv-triton/``
(``scripts/setup_triton.sh``, run by ``scripts/setup.sh``); tests that need it are marked
``triton`` and skip, naming the reason, only where that binary is not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from toy_detector import export_toy, random_frames

TTL_S = 2.0  # short, so the eviction test waits only a few seconds
MAX_STREAMS = 8


@pytest.fixture(scope="session")
def toy_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy online detector (two shift caches, dynamic batch) exported with its metadata."""
    return export_toy(tmp_path_factory.mktemp("serving_model") / "toy.onnx", dynamic_batch=True)


@pytest.fixture(scope="session")
def toy_static_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_toy(tmp_path_factory.mktemp("serving_static") / "toy_static.onnx", dynamic_batch=False)


@pytest.fixture(scope="session")
def triton_install():
    """The installed server, or a skip saying why it is missing."""
    from tsmdet.serving.launcher import TritonNotInstalledError, find_triton

    try:
        return find_triton()
    except TritonNotInstalledError as exc:
        pytest.skip(f"tritonserver is not installed: {exc}")


@pytest.fixture(scope="session")
def triton_server(toy_onnx, toy_static_onnx, triton_install, tmp_path_factory):
    """A real tritonserver on free loopback ports serving the toy model's Python-backend repository as
    ``tsmdet`` (dynamic batch) and ``toy_static`` (batch-1 graph: one graph call per frame)."""
    from tsmdet.serving.launcher import TritonServer, free_port
    from tsmdet.serving.repository import ServingOptions, write_repository

    root = tmp_path_factory.mktemp("triton_repo")
    options = ServingOptions(
        max_streams=MAX_STREAMS, ttl_s=TTL_S, max_queue_delay_us=20000, intra_op_threads=1
    )
    repo = write_repository(toy_onnx, root / "repo", options=options)
    write_repository(toy_static_onnx, root / "repo", model_name="toy_static", options=options)
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
