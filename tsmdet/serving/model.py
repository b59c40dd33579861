"""Triton Python-backend model: shift caches per correlation ID, streams batched into one onnxruntime call.

The repository writer (``tsmdet.serving.repository``) copies this file as ``<model>/1/model.py``
next to the exported ``model.onnx``. It runs inside Triton's Python-backend stub, whose
environment has numpy and onnxruntime but not tsmdet: so it imports nothing from tsmdet,
and ``triton_python_backend_utils`` only inside the Triton entry points (the state store
below is plain numpy and is unit-tested outside the server).

Why the model keeps the state itself: Triton's implicit state (``sequence_batching { state }``)
is implemented by the onnxruntime, TensorRT and PyTorch backends, not by the Python backend.
So the sequence batcher routes each stream's requests here with the control inputs

* ``START`` (int32 1 on the first request of a stream, and when the client resets it):
  the stream's caches become zeros before this frame;
* ``END`` (1 on the last request): the caches are dropped after this frame;
* ``CORRID`` (uint64): the stream's correlation ID, the key of its caches;

and this model gathers the caches of all requests of one ``execute`` call (several streams,
at most one frame each: the sequence batcher never puts two requests of one sequence in a
batch, and a repeated ID is split into a later call anyway) into one graph call.

A stream that never sends END (a crashed client) would keep its caches forever: Triton's
``max_sequence_idle_microseconds`` releases the sequence but cannot tell a Python model, so
caches idle for longer than the ``ttl_s`` parameter are evicted here (checked on every call
and by a timer thread). Every response carries ``tsmdet_live_streams``: how many streams hold
caches after the call, so clients and the load test can see eviction free them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

LIVE_STREAMS = "tsmdet_live_streams"  # extra output: streams holding caches after this call


class StreamStates:
    """Shift caches of every open stream: correlation ID -> one array per state, plus last use time.

    ``specs`` are ``(input_name, output_name, shape_of_one_stream)`` in graph order. Not
    thread-safe by itself: the model holds one lock around every use.
    """

    def __init__(
        self,
        specs: Sequence[tuple[str, str, Sequence[int]]],
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.specs = [(name, out, tuple(int(d) for d in shape)) for name, out, shape in specs]
        self.ttl_s = float(ttl_s)
        self.clock = clock
        self._states: dict[int, list[np.ndarray]] = {}
        self._last_used: dict[int, float] = {}

    def zeros(self) -> list[np.ndarray]:
        return [np.zeros(shape, dtype=np.float32) for _, _, shape in self.specs]  # each (1, C, H, W)

    def get(self, corrid: int) -> list[np.ndarray] | None:
        return self._states.get(corrid)

    def put(self, corrid: int, states: list[np.ndarray]) -> None:
        self._states[corrid] = states
        self._last_used[corrid] = self.clock()

    def drop(self, corrid: int) -> None:
        self._states.pop(corrid, None)
        self._last_used.pop(corrid, None)

    def evict_expired(self) -> list[int]:
        """Drop the caches of streams idle for longer than the TTL; returns their IDs."""
        limit = self.clock() - self.ttl_s
        expired = [c for c, t in self._last_used.items() if t < limit]
        for corrid in expired:
            self.drop(corrid)
        return expired

    def __len__(self) -> int:
        return len(self._states)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for states in self._states.values() for a in states)


def split_unique(corrids: Sequence[int]) -> list[list[int]]:
    """Positions grouped into successive calls in which each correlation ID appears at most once.

    A repeated ID goes into a later group than its previous request, so running the groups in
    order keeps every stream's frames in order.
    """
    groups: list[list[int]] = []
    last: dict[int, int] = {}
    for pos, corrid in enumerate(corrids):
        g = last.get(corrid, -1) + 1
        if g == len(groups):
            groups.append([])
        groups[g].append(pos)
        last[corrid] = g
    return groups


class TritonPythonModel:
    """Triton's entry points: ``initialize`` once per instance, ``execute`` per batch of requests."""

    def initialize(self, args: dict) -> None:
        import onnxruntime as ort
        import triton_python_backend_utils as pb_utils

        self.pb = pb_utils
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        io = json.loads(params["tsmdet_io"])
        self.input_name: str = io["input"]
        self.output_names: list[str] = list(io["outputs"])
        self.static_batch: bool = int(io["batch"]) != -1
        self.states = StreamStates(
            [(s["name"], s["output"], s["shape"]) for s in io["states"]], ttl_s=float(params["ttl_s"])
        )
        onnx_path = Path(args["model_repository"]) / args["model_version"] / params["onnx_file"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get("intra_op_threads", "0"))
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.fetch = [*self.output_names, *(out for _, out, _ in self.states.specs)]
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.timer = threading.Thread(target=self._evict_loop, name="tsmdet-ttl", daemon=True)
        self.timer.start()
        pb_utils.Logger.log_info(
            f"tsmdet: {onnx_path.name} on onnxruntime {ort.__version__}, numpy {np.__version__}, "
            f"{len(self.states.specs)} states, ttl {self.states.ttl_s} s"
        )

    def _evict_loop(self) -> None:
        period = max(0.1, min(1.0, self.states.ttl_s / 4))
        while not self.stop.wait(period):
            with self.lock:
                self._evict()

    def _evict(self) -> None:
        expired = self.states.evict_expired()
        if expired:
            self.pb.Logger.log_info(
                f"tsmdet: evicted {len(expired)} idle stream(s) after {self.states.ttl_s} s: "
                f"{expired}; {len(self.states)} open"
            )

    def _control(self, request, name: str) -> int:
        tensor = self.pb.get_input_tensor_by_name(request, name)
        return int(tensor.as_numpy().reshape(-1)[0])

    def execute(self, requests: list) -> list:
        pb = self.pb
        responses: list = [None] * len(requests)
        with self.lock:
            self._evict()
            jobs = []  # (request position, corrid, start, end, image (1, 3, H, W))
            for pos, request in enumerate(requests):
                image = pb.get_input_tensor_by_name(request, self.input_name).as_numpy()
                jobs.append(
                    (
                        pos,
                        self._control(request, "CORRID"),
                        self._control(request, "START"),
                        self._control(request, "END"),
                        image,
                    )
                )
            groups = [[jobs[i] for i in g] for g in split_unique([job[1] for job in jobs])]
            if self.static_batch:
                groups = [[job] for group in groups for job in group]
            for group in groups:
                self._run(group, responses)
            live = np.array([len(self.states)], dtype=np.int32)
        for pos, response in enumerate(responses):
            if isinstance(response, list):  # output tensors of a frame that ran
                responses[pos] = pb.InferenceResponse(
                    output_tensors=[*response, pb.Tensor(LIVE_STREAMS, live)]
                )
        return responses

    def _run(self, group: list, responses: list) -> None:
        """One graph call for ``group`` (distinct streams); stores their new caches, drops ENDed ones."""
        runnable, states = [], []
        for job in group:
            pos, corrid, start = job[:3]
            state = self.states.zeros() if start else self.states.get(corrid)
            if state is None:
                responses[pos] = self.pb.InferenceResponse(
                    output_tensors=[],
                    error=self.pb.TritonError(
                        f"no shift state for correlation ID {corrid}: it was evicted after "
                        f"{self.states.ttl_s} s "
                        "idle or never started; send the next request with START"
                    ),
                )
                continue
            runnable.append(job)
            states.append(state)
        if not runnable:
            return
        feeds = {self.input_name: np.concatenate([job[4] for job in runnable], axis=0)}  # (B, 3, H, W)
        for i, (name, _, _) in enumerate(self.states.specs):
            feeds[name] = np.concatenate([state[i] for state in states], axis=0)  # (B, C_i, H_i, W_i)
        results = self.session.run(self.fetch, feeds)
        n_out = len(self.output_names)
        for j, (pos, corrid, _, end, _) in enumerate(runnable):
            if end:
                self.states.drop(corrid)
            else:
                self.states.put(corrid, [np.ascontiguousarray(r[j : j + 1]) for r in results[n_out:]])
            responses[pos] = [
                self.pb.Tensor(name, np.ascontiguousarray(r[j : j + 1]))
                for name, r in zip(self.output_names, results[:n_out])
            ]

    def finalize(self) -> None:
        self.stop.set()
