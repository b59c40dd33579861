"""Start and stop the ``tritonserver`` binary of the ``nvidia-pytriton`` wheel, in its own environment.

Why its own environment (``.venv-triton/``, made by ``scripts/setup_triton.sh``): the wheel pins
numpy<2, and the Python-backend stub needs numpy 1.x for real — with numpy 2.4 in the stub's
environment the model loads and runs but every response comes back empty (docs/serving.md).
The project's ``.venv`` uses numpy 2, so the server and its stub get a separate interpreter.

How the stub finds its Python: it links ``libpython3.X.so.1.0`` (X = the stub's minor version)
and, like ``python`` itself, derives its prefix and site-packages from the ``python3`` first in
``PATH``. So the server runs with ``PATH=<env>/bin:...`` (the env's numpy and onnxruntime are
then importable in ``model.py``) and ``LD_LIBRARY_PATH`` holding the wheel's bundled libraries
and the env interpreter's ``libpython`` folder (so stub and standard library are one build).
The backend folder ``<env>/tsmdet-backends/python/`` holds the wheel's Python backend and the
stub for the env's Python version (the wheel ships stubs for 3.8 to 3.13 in another folder).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Self

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ENV = REPO_ROOT / ".venv-triton"
ENV_VAR = "TSMDET_TRITON_ENV"  # another environment made by scripts/setup_triton.sh
SETUP_HINT = "install it with: bash scripts/setup_triton.sh (makes .venv-triton/, about a minute)"
LOOPBACK = "127.0.0.1"


class TritonNotInstalledError(RuntimeError):
    """The server binary (nvidia-pytriton's environment) is not installed; the message says how."""


class ServerStartError(RuntimeError):
    """The server did not become ready: a port is taken, the repository does not load, ..."""


@dataclass(frozen=True)
class TritonInstall:
    env: Path  # the virtual environment holding nvidia-pytriton, numpy<2 and onnxruntime
    python: Path
    python_version: str  # "3.11": picks the matching stub
    server: Path  # .../pytriton/tritonserver/bin/tritonserver
    libs: Path  # .../nvidia_pytriton.libs (the binary's bundled shared libraries)
    libpython_dir: str  # the env interpreter's LIBDIR (libpython3.X.so.1.0), '' if not shared

    @property
    def backends(self) -> Path:
        return self.env / "tsmdet-backends"


def find_triton(env: str | Path | None = None) -> TritonInstall:
    """Locate the server in ``env`` (default: ``$TSMDET_TRITON_ENV`` or ``.venv-triton``)."""
    env = Path(env or os.environ.get(ENV_VAR) or DEFAULT_ENV)
    python = env / "bin" / "python"
    servers = sorted(env.glob("lib/python3.*/site-packages/pytriton/tritonserver/bin/tritonserver"))
    if not python.exists() or not servers:
        raise TritonNotInstalledError(
            f"no tritonserver in {env} (nvidia-pytriton's environment); {SETUP_HINT}"
        )
    server = servers[-1]
    site = server.parents[3]  # .../site-packages
    probe = (
        "import sys, sysconfig; print(f'{sys.version_info[0]}.{sys.version_info[1]}'); "
        "print(sysconfig.get_config_var('LIBDIR') if sysconfig.get_config_var('Py_ENABLE_SHARED') else '')"
    )
    out = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    version, libdir = (out.stdout.splitlines() + [""])[:2]
    return TritonInstall(env, python, version, server, site / "nvidia_pytriton.libs", libdir)


def prepare_backends(install: TritonInstall) -> Path:
    """The ``--backend-directory``: the wheel's Python backend, the stub of the env's Python (idempotent)."""
    dist = install.server.parents[1]  # .../pytriton/tritonserver
    stub = dist / "python_backend_stubs" / install.python_version / "triton_python_backend_stub"
    if not stub.is_file():
        raise TritonNotInstalledError(
            f"the wheel has no Python-backend stub for Python {install.python_version} "
            f"({stub}); make {install.env} with Python 3.8-3.13"
        )
    target = install.backends / "python"
    target.mkdir(parents=True, exist_ok=True)
    sources = [
        *sorted((dist / "backends" / "python").glob("*.so")),
        *sorted((dist / "backends" / "python").glob("*.py")),
        stub,
    ]
    for src in sources:
        dst = target / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copy2(src, dst)
    return install.backends


def _libc_prctl():
    """libc's ``prctl`` on Linux, resolved once in the parent; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the launching process dies, even by SIGKILL,
    so a killed ``serve.py`` or test run never leaves a server (and its ports) behind."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port the OS reports free now (another process may still take it before the server binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class TritonServer:
    """One ``tritonserver`` process serving ``model_repository`` on loopback ports; a context manager.

    ``start()`` returns once ``/v2/health/ready`` answers 200 (every model loaded), or raises
    ``ServerStartError`` with the server's last log lines. ``stop()`` sends SIGTERM (Triton
    finishes in-flight requests and unloads the models) and kills only after ``stop_timeout_s``.
    """

    def __init__(
        self,
        model_repository: str | Path,
        grpc_port: int = 8001,
        http_port: int = 8000,
        metrics_port: int | None = None,
        log_file: str | Path | None = None,
        install: TritonInstall | None = None,
        verbose: bool = False,
    ) -> None:
        self.repository = Path(model_repository)
        self.grpc_port, self.http_port = grpc_port, http_port
        self.metrics_port = metrics_port if metrics_port is not None else http_port + 2
        self.install = install or find_triton()
        self.log_file = Path(log_file) if log_file else None
        self.verbose = verbose
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def grpc_url(self) -> str:
        return f"{LOOPBACK}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}/metrics"

    def command(self) -> list[str]:
        return [
            str(self.install.server),
            f"--model-repository={self.repository}",
            f"--backend-directory={prepare_backends(self.install)}",
            f"--grpc-address={LOOPBACK}",
            f"--grpc-port={self.grpc_port}",
            f"--http-address={LOOPBACK}",
            f"--http-port={self.http_port}",
            "--allow-metrics=true",
            f"--metrics-address={LOOPBACK}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            "--exit-on-error=true",
            "--strict-readiness=true",
            "--exit-timeout-secs=10",
            f"--log-verbose={1 if self.verbose else 0}",
            # a frame is ~2 MB at 512x320: start the stub's shared memory large enough for a batch
            "--backend-config=python,shm-default-byte-size=33554432",
            "--backend-config=python,shm-growth-byte-size=16777216",
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.install.env / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        libs = [str(self.install.libs), self.install.libpython_dir, env.get("LD_LIBRARY_PATH", "")]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in libs if p)
        env.pop("PYTHONHOME", None)
        env.pop("PYTHONPATH", None)  # the stub must see the server env's numpy<2, nothing else
        return env

    def start(self, timeout_s: float = 60.0) -> TritonServer:
        if not (self.repository.is_dir() and any(self.repository.glob("*/config.pbtxt"))):
            raise ServerStartError(f"{self.repository}: not a model repository (no <model>/config.pbtxt)")
        for what, port in (
            ("gRPC", self.grpc_port),
            ("HTTP", self.http_port),
            ("metrics", self.metrics_port),
        ):
            if not port_is_free(port):
                raise ServerStartError(
                    f"{what} port {port} on {LOOPBACK} is already in use "
                    f"(another server?); choose another port"
                )
        log_path = self.log_file or (
            Path(os.environ.get("TMPDIR", "/tmp")) / f"tritonserver-{self.grpc_port}.log"
        )
        self.log_file = log_path
        self._log = log_path.open("wb")
        logger.info("starting %s (log: %s)", " ".join(self.command()[:2]), log_path)
        self.process = subprocess.Popen(
            self.command(),
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            # only a prctl call through a libc handle resolved before the fork (no import, no dlopen)
            preexec_fn=_die_with_parent if _PRCTL is not None else None,  # noqa: PLW1509
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._close_log()
                raise ServerStartError(
                    f"tritonserver exited with code {self.process.returncode} before it was "
                    f"ready:\n{self.log_tail()}"
                )
            if self.ready():
                logger.info("tritonserver ready: gRPC %s", self.grpc_url)
                return self
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(f"tritonserver was not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{LOOPBACK}:{self.http_port}/v2/health/ready", timeout=1
            ) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server log that are not table borders (the reason for a failure)."""
        if self.log_file is None or not self.log_file.exists():
            return ""
        text = self.log_file.read_text(errors="replace").splitlines()
        keep = [line for line in text if line.strip() and not line.startswith(("+", "|"))]
        return "\n".join(keep[-lines:])

    def stop(self, stop_timeout_s: float = 15.0) -> int | None:
        """SIGTERM, wait, then SIGKILL if needed; returns the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(stop_timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("tritonserver did not stop in %.0f s: killing it", stop_timeout_s)
                self.process.kill()
                self.process.wait()
        self._close_log()
        return self.process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(server: TritonServer, on_ready=None, poll_s: float = 0.5) -> int:
    """Start ``server``, call ``on_ready(server)``, run until SIGINT/SIGTERM, stop it cleanly.

    Returns 0 after a signal, 1 if the server exited by itself (its log tail is logged).
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        if on_ready is not None:
            on_ready(server)
        while not stop.wait(poll_s):
            if server.process is not None and server.process.poll() is not None:
                logger.error(
                    "tritonserver exited with code %s:\n%s", server.process.returncode, server.log_tail()
                )
                return 1
        logger.info("stopping tritonserver")
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
