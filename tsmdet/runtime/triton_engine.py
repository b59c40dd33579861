"""Triton client engine: the shift caches live on the server, one correlation ID per stream slot.

The same :class:`Engine` as every local backend (letterbox, task postprocess, stage times),
so the streaming runner and sinks work unchanged; only the state hooks differ. A stream's
"state" here is a :class:`StreamHandle` — its correlation ID and whether the next request
must carry START — while the caches themselves sit in the server: in the Python-backend model
(keyed by correlation ID) or in Triton's implicit state on a GPU server.

* Correlation IDs are 63-bit random numbers from the OS's CSPRNG (``secrets``), drawn per
  stream: two client processes (or two engines in one process) never share a stream's state.
* START goes with the first frame of a stream and with the first frame after ``reset``
  (same ID: Triton restarts the sequence, the model zeroes its caches).
* END goes on ``close()`` for every started stream (a zero image; its result is discarded),
  so the server frees the caches at once instead of after the idle TTL.
* The model's :class:`ModelMeta` comes from the model configuration's ``tsmdet_meta``
  parameter (written by ``tools/serve.py``): the client needs no copy of the ONNX file.

Frames of several streams in one ``infer`` call are sent concurrently, so the server's
sequence batcher can put them in one batch. Nothing here imports OpenMMLab or tsmdet.deploy.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import secrets
import threading
from typing import Any

import numpy as np

from .engine import Engine, EngineUnavailableError
from .meta import ModelMeta

logger = logging.getLogger(__name__)

TRITON_HINT = "tritonclient is not installed: pip install 'tritonclient[grpc]' (requirements/pins.txt)"
META_PARAM = "tsmdet_meta"
LIVE_STREAMS = "tsmdet_live_streams"  # the Python-backend model's count of streams holding caches
DEFAULT_MODEL_NAME = "tsmdet"


class TritonServerError(RuntimeError):
    """The server refused a request or could not be reached; the message names the URL and model."""


class TritonUnavailableError(EngineUnavailableError, TritonServerError):
    """No Triton server answers at the URL, or it does not serve the model."""


@dataclasses.dataclass
class StreamHandle:
    """One stream's handle on the server: its correlation ID and whether the next frame starts it."""

    corrid: int
    pending_start: bool = True
    started: bool = False


def new_correlation_id() -> int:
    """A random non-zero uint63 (0 means "no sequence" to Triton; 63 bits stay positive in int64 tools)."""
    return secrets.randbits(63) or 1


def _import_grpc() -> Any:
    try:
        return importlib.import_module("tritonclient.grpc")
    except ImportError as exc:
        raise EngineUnavailableError(TRITON_HINT) from exc


class TritonEngine(Engine):
    """Runs a model served by Triton (``tools/serve.py``) over gRPC."""

    def __init__(
        self,
        url: str = "localhost:8001",
        model_name: str = DEFAULT_MODEL_NAME,
        num_streams: int = 1,
        timeout_s: float = 30.0,
    ) -> None:
        self._grpc = _import_grpc()
        from tritonclient.utils import InferenceServerException

        self._server_error = InferenceServerException
        self.url, self.model_name, self.timeout_s = url, model_name, timeout_s
        self.client = self._grpc.InferenceServerClient(url)
        self._closed = False
        self._open_sequences: list[StreamHandle] = []
        self._lock = threading.Lock()
        try:
            config = self._model_config()
        except TritonUnavailableError:
            self.client.close()
            raise
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        if META_PARAM not in params:
            raise TritonUnavailableError(
                f"model {model_name!r} at {url} has no {META_PARAM!r} parameter: "
                "was its repository written by tools/serve.py?"
            )
        meta = ModelMeta.from_json(params[META_PARAM])
        # each frame is its own request and the server batches them: any number per call
        meta = dataclasses.replace(meta, batch_size=-1)
        self._scalar_outputs = {o["name"] for o in config.get("output", []) if "reshape" in o}
        self._fetch = [
            *meta.output_names,
            *([LIVE_STREAMS] if any(o["name"] == LIVE_STREAMS for o in config.get("output", [])) else []),
        ]
        #: streams holding caches on the server after the last response (Python-backend model only)
        self.server_streams: int | None = None
        self._dtypes = {i["name"]: i["data_type"].removeprefix("TYPE_") for i in config.get("input", [])}
        super().__init__(meta, num_streams)
        logger.info("Triton engine: model %s at %s, %d stream slot(s)", model_name, url, num_streams)

    def _model_config(self) -> dict:
        try:
            live = self.client.is_server_live(client_timeout=self.timeout_s)
        except self._server_error as exc:
            raise TritonUnavailableError(
                f"no Triton server answers at {self.url} (is it running? "
                f"tools/serve.py MODEL.onnx --repo REPO --start): {exc.message()}"
            ) from None
        if not live:
            raise TritonUnavailableError(f"the Triton server at {self.url} is not live")
        try:
            return self.client.get_model_config(self.model_name, as_json=True, client_timeout=self.timeout_s)[
                "config"
            ]
        except self._server_error as exc:
            raise TritonUnavailableError(
                f"Triton at {self.url} does not serve model {self.model_name!r}: {exc.message()}"
            ) from None

    # ------------------------------------------------------------ state hooks: a sequence handle per slot
    def _new_slot(self) -> list[Any]:
        seq = StreamHandle(new_correlation_id())
        with self._lock:
            self._open_sequences.append(seq)
        return [seq]

    def _zero_slot(self, slot: list[Any]) -> list[Any]:
        slot[0].pending_start = True  # the next frame carries START: the server zeroes this stream's caches
        return slot

    def _gather_states(self, slots: list[list[Any]]) -> list[Any]:
        return [slot[0] for slot in slots]

    def _scatter_states(self, slots: list[list[Any]], new_states: list[Any]) -> list[list[Any]]:
        return [[seq] for seq in new_states]

    # ------------------------------------------------------------------ requests
    def _request(self, image: np.ndarray, seq: StreamHandle, end: bool = False) -> dict[str, Any]:
        inp = self._grpc.InferInput(
            self.meta.input_name, list(image.shape), self._dtypes.get(self.meta.input_name, "FP32")
        )
        inp.set_data_from_numpy(np.ascontiguousarray(image))
        outputs = [self._grpc.InferRequestedOutput(name) for name in self._fetch]
        return {
            "model_name": self.model_name,
            "inputs": [inp],
            "outputs": outputs,
            "sequence_id": seq.corrid,
            "sequence_start": seq.pending_start,
            "sequence_end": end,
            "client_timeout": self.timeout_s,
        }

    def _error(self, exc: Exception, seq: StreamHandle) -> TritonServerError:
        message = exc.message() if hasattr(exc, "message") else str(exc)
        status = (exc.status() if hasattr(exc, "status") else None) or ""
        if "UNAVAILABLE" in status or "failed to connect" in message:
            return TritonUnavailableError(f"lost the Triton server at {self.url}: {message}")
        return TritonServerError(
            f"Triton at {self.url}, model {self.model_name!r}, stream {seq.corrid}: {message}"
        )

    def _forward(self, images: np.ndarray, states: list[Any]) -> tuple[dict[str, np.ndarray], list[Any]]:
        """One request per frame (B, 3, H, W), sent concurrently; outputs stacked back along axis 0."""
        results: list[Any] = [None] * len(states)
        if len(states) == 1:
            try:
                results[0] = self.client.infer(**self._request(images[0:1], states[0]))
            except self._server_error as exc:
                raise self._error(exc, states[0]) from None
        else:
            done = threading.Semaphore(0)

            def callback(i: int, result: Any = None, error: Any = None) -> None:
                results[i] = error if error is not None else result
                done.release()

            for i, seq in enumerate(states):
                self.client.async_infer(
                    callback=functools.partial(callback, i), **self._request(images[i : i + 1], seq)
                )
            for _ in states:
                if not done.acquire(timeout=self.timeout_s + 5.0):  # the client timeout should have fired
                    raise TritonServerError(f"Triton at {self.url}: no answer within {self.timeout_s:.0f} s")
            for seq, result in zip(states, results):
                if isinstance(result, self._server_error):
                    raise self._error(result, seq)
        for seq in states:
            seq.pending_start, seq.started = False, True
        if LIVE_STREAMS in self._fetch:
            self.server_streams = int(results[-1].as_numpy(LIVE_STREAMS).reshape(-1)[0])
        outputs = {}
        for name in self.meta.output_names:
            arrays = [r.as_numpy(name) for r in results]  # each (1, ...) or (1, 1) for a per-item scalar
            if name in self._scalar_outputs:
                arrays = [a.reshape(1) for a in arrays]
            outputs[name] = np.concatenate(arrays, axis=0)
        return outputs, list(states)

    def step(self, images: np.ndarray, states: list[Any]) -> tuple[dict[str, np.ndarray], list[Any]]:
        raise NotImplementedError("the Triton engine has no raw graph call: the states live on the server")

    def end_stream(self, seq: StreamHandle) -> None:
        """Send END for one started stream (a zero frame, result dropped): the server frees its caches."""
        if not seq.started or seq.pending_start:
            return
        width, height = self.meta.input_size
        image = np.zeros((1, 3, height, width), np.float32)
        try:
            self.client.infer(**self._request(image, seq, end=True))
        except self._server_error as exc:  # evicted already, or the server is gone: nothing left to free
            logger.info("END for stream %d not delivered: %s", seq.corrid, exc.message())
        seq.started = False
        seq.pending_start = True

    def close(self) -> None:
        """END every stream this engine started, then close the connection."""
        with self._lock:
            sequences, self._open_sequences = self._open_sequences, []
            client = self.client
        for seq in sequences:
            self.end_stream(seq)
        if client is not None and not self._closed:
            self._closed = True
            client.close()
