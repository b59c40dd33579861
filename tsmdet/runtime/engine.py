"""The one engine interface: per-stream shift state, batching, pre- and postprocess.

A backend (torch, onnxruntime, TensorRT) implements only ``_forward``: one call of
the exported graph ``(image, *states) -> (*task outputs, *new_states)``.
Everything that must behave identically on every backend lives here, once:
letterboxing, per-stream state (zeros at start and on reset, never mixed between
streams), grouping frames into graph calls and the task's postprocess
(:mod:`tsmdet.runtime.tasks`: detections mapped back to the original frame, or class scores).

State is a value. :meth:`Engine.new_state` gives one stream's zero state and
:meth:`Engine.run` takes the states of the frames' streams and returns their next states:
the engine object holds none of it, so two streams, or two threads sharing one engine,
cannot see each other's caches. :meth:`Engine.infer` / :meth:`Engine.reset` are the
convenience layer for a process that owns a fixed set of stream slots (the streaming
runner, the benchmark): the slots are just the state values kept for it.

Backends that keep state off the host (TensorRT keeps it in device memory) override
the four state hooks; the default state is a list of numpy arrays.
"""
from __future__ import annotations

import importlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .meta import ModelMeta
from .results import Detections, Result  # noqa: F401  (Detections re-exported)
from .tasks import task_of

logger = logging.getLogger(__name__)

# What to install for each backend; used by every "not available" error so the
# message is the same wherever the backend is asked for.
INSTALL_HINTS: dict[str, str] = {
    "torch": "PyTorch is not installed: pip install torch (on Jetson, NVIDIA's JetPack torch wheel)",
    "onnx": (
        "onnxruntime is not installed: pip install onnxruntime (CPU) or onnxruntime-gpu (CUDA); "
        "on Jetson, the onnxruntime-gpu wheel built for your JetPack"
    ),
    "trt": (
        "TensorRT is not installed: install TensorRT 8.6 (JetPack 5), 10.x (JetPack 6) or 11.x for your CUDA/JetPack "
        "(pip install tensorrt on x86_64 with CUDA 12, or the JetPack's python3-libnvinfer on Jetson) "
        "and cuda-python (pip install cuda-python matching your CUDA major version)"
    ),
    "cuda-python": (
        "cuda-python is not installed (TensorRT needs it here for device memory): "
        "pip install cuda-python matching your CUDA major version"
    ),
}



def import_backend(module: str, kind: str) -> Any:
    """Import a backend library (``onnxruntime``, ``torch``, ``tensorrt``) lazily, or raise
    ``EngineUnavailableError`` saying what to install for engine ``kind``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EngineUnavailableError(INSTALL_HINTS[kind]) from exc

class EngineUnavailableError(RuntimeError):
    """The requested backend cannot run here; the message says what to install."""


@dataclass(frozen=True)
class StageTimes:
    """Wall-clock milliseconds of the last ``infer`` call, per stage."""

    preprocess: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0

    @property
    def total(self) -> float:
        return self.preprocess + self.inference + self.postprocess


class Engine(ABC):
    """Runs an exported online model on frames of ``num_streams`` independent streams."""

    #: Largest batch one graph call accepts (None: unbounded). Backends with a
    #: fixed optimisation profile (TensorRT) set it.
    max_batch: int | None = None

    def __init__(self, meta: ModelMeta, num_streams: int = 1) -> None:
        if num_streams < 1:
            raise ValueError(f"num_streams must be >= 1, got {num_streams}")
        self.meta = meta
        self.task = task_of(meta)
        self.num_streams = num_streams
        self.last_times = StageTimes()
        self._slots: list[list[Any]] = [self._new_slot() for _ in range(num_streams)]

    # ------------------------------------------------------------------ public API
    def reset(self, stream: int | None = None) -> None:
        """Zero the shift state of one stream slot (new video, scene cut, reconnect), or of all."""
        for s in range(self.num_streams) if stream is None else [self._check_stream(stream)]:
            self._slots[s] = self._zero_slot(self._slots[s])

    def infer(self, frames: Sequence[np.ndarray], streams: Sequence[int] | None = None) -> list[Result]:
        """One frame per stream slot (default: slots 0..n-1); one result per frame, in order."""
        streams = list(range(len(frames))) if streams is None else [self._check_stream(s) for s in streams]
        if len(streams) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(streams)} stream ids")
        if len(set(streams)) != len(streams):
            raise ValueError(f"a stream may appear once per call, got {streams}")
        results, new_states = self.run(frames, [self._slots[s] for s in streams])
        for s, state in zip(streams, new_states):
            self._slots[s] = state
        return results

    def new_state(self) -> list[Any]:
        """The zero state of one new stream, in this backend's representation (a value the caller owns)."""
        return self._new_slot()

    def run(self, frames: Sequence[np.ndarray], states: Sequence[list[Any]]) -> tuple[list[Result], list[list[Any]]]:
        """One frame of each of ``len(frames)`` streams with their states; returns (results, next states).

        ``states[i]`` belongs to the stream of ``frames[i]`` (from :meth:`new_state` or a previous
        ``run``); pass each stream's state once per call. The engine keeps nothing between calls
        (TensorRT updates its device-resident states in place and returns the same objects).
        """
        if len(states) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(states)} states")
        if len({id(s) for s in states}) != len(states):
            raise ValueError("a stream's state may appear once per call")
        if not frames:
            return [], []

        t0 = time.perf_counter()
        letterboxed = [
            self.meta.preprocessing.apply(f) for f in frames  # the preprocessing contract (runtime/preprocess.py)
        ]
        images = np.stack([t for t, _ in letterboxed])  # (N, 3, H, W)
        t1 = time.perf_counter()
        raw: list[dict[str, np.ndarray]] = []
        new_states: list[list[Any]] = []
        for group in self._groups(len(frames)):
            slots = [states[i] for i in group]
            outputs, batched = self._forward(images[group[0] : group[-1] + 1], self._gather_states(slots))
            new_states.extend(self._scatter_states(slots, batched))
            raw.extend({k: v[j] for k, v in outputs.items()} for j in range(len(group)))
        t2 = time.perf_counter()
        results = [self.task.finish(r, info, self.meta) for r, (_, info) in zip(raw, letterboxed)]
        t3 = time.perf_counter()
        self.last_times = StageTimes(1e3 * (t1 - t0), 1e3 * (t2 - t1), 1e3 * (t3 - t2))
        return results, new_states

    def step(self, images: np.ndarray, states: list[Any]) -> tuple[dict[str, np.ndarray], list[Any]]:
        """One raw graph call with explicit states: no letterbox, no state slots, no threshold.

        For parity checks and INT8 calibration, which need the graph's own outputs. ``states``
        are in the backend's representation: numpy arrays for the onnxruntime and torch backends.
        """
        return self._forward(np.ascontiguousarray(images, dtype=np.float32), states)

    def close(self) -> None:
        """Release backend resources (device memory, sessions). The engine is unusable afterwards."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ backend contract
    @abstractmethod
    def _forward(self, images: np.ndarray, states: list[Any]) -> tuple[dict[str, np.ndarray], list[Any]]:
        """Run the graph once on ``images`` (B, 3, H, W) float32 and batched ``states``.

        Returns the task outputs by name (``meta.output_names``, each with a
        leading B axis, as numpy) and the new states in ``meta.states`` order, in
        the same representation as ``states``.
        """

    def _new_slot(self) -> list[Any]:
        """Zero-initialised state of one stream slot (one entry per ``meta.states``)."""
        return [np.zeros(spec.shape, dtype=np.float32) for spec in self.meta.states]

    def _zero_slot(self, slot: list[Any]) -> list[Any]:
        """Return ``slot`` reset to zeros (backends holding device memory zero it in place)."""
        return self._new_slot()

    def _gather_states(self, slots: list[list[Any]]) -> list[Any]:
        """Batch the states of several slots along axis 0, in slot order."""
        if len(slots) == 1:
            return list(slots[0])
        return [np.concatenate(per_state, axis=0) for per_state in zip(*slots)]

    def _scatter_states(self, slots: list[list[Any]], new_states: list[Any]) -> list[list[Any]]:
        """Split batched new states back into one slot per stream (inverse of ``_gather_states``)."""
        if len(slots) == 1:
            return [list(new_states)]
        return [[s[j : j + 1] for s in new_states] for j in range(len(slots))]

    # ------------------------------------------------------------------ internals
    def _check_stream(self, stream: int) -> int:
        if not 0 <= stream < self.num_streams:
            raise IndexError(f"stream {stream} out of range: this engine has {self.num_streams} slots")
        return stream

    def _groups(self, n: int) -> list[list[int]]:
        """Frame indices of each graph call: one call when the graph batch allows, else one by one."""
        batch = self.meta.batch_size
        if batch == -1:
            size = n if self.max_batch is None else min(n, self.max_batch)
        elif batch == 1:
            size = 1
        elif batch == n:
            size = n
        else:
            raise ValueError(
                f"the graph has a static batch of {batch}; call infer with exactly {batch} frames "
                "or export with a dynamic batch axis"
            )
        return [list(range(i, min(i + size, n))) for i in range(0, n, size)]
