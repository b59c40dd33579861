"""onnxruntime backend: the portable engine (CPU anywhere, CUDA where onnxruntime-gpu is installed)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..utils.cpu import usable_cpu_count
from .engine import Engine, import_backend
from .errors import ModelFileError
from .meta import read_onnx_meta
from .threads import ThreadSettings, check_threads

logger = logging.getLogger(__name__)


class OnnxEngine(Engine):
    """Runs an exported ``.onnx`` file; metadata (sizes, states, classes) comes from the file itself.

    A file that cannot be run (not ONNX, truncated, no tsmdet metadata, another ``task`` than
    asked for, a graph that does not match its metadata) raises :class:`ModelFileError` naming it.
    """

    def __init__(
        self, path: str | Path, num_streams: int = 1, providers: Sequence[str] | None = None,
        intra_op_threads: int | None = None, task: str | None = None,
        inter_op_threads: int = 1, allow_spinning: bool = False,
    ) -> None:
        """``intra_op_threads`` defaults to the usable cores; pass fewer when other threads
        (a decode thread, another engine) share the machine, so they do not oversubscribe it.
        ``task`` ('detection' | 'recognition'), when given, must be the file's task.
        Thread policy (:mod:`tsmdet.runtime.threads`): ``intra_op_threads`` defaults to its rule
        (1 on <= 2 cores, else cores - 1), ``inter_op_threads`` to 1 (sequential graph), and the
        intra-op pool does not spin unless ``allow_spinning`` (spinning steals a shared core)."""
        ort = import_backend("onnxruntime", "onnx")
        path = str(path)
        meta = read_onnx_meta(path, task=task)
        if providers is None:
            available = ort.get_available_providers()
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = check_threads(intra_op_threads)
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = inter_op_threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.thread_settings = ThreadSettings("onnx", threads, inter_op_threads, allow_spinning,
                                              usable_cpu_count(), default=intra_op_threads is None)
        try:
            self.session = ort.InferenceSession(path, sess_options=options, providers=list(providers))
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types  # noqa: BLE001
            text = " ".join(str(exc).split())[:300]
            raise ModelFileError(f"{path}: onnxruntime cannot load this graph: {text}") from None
        logger.info("onnxruntime %s session on %s for %s",
                    ort.__version__, self.session.get_providers(), path)

        graph_inputs = {i.name for i in self.session.get_inputs()}
        graph_outputs = {o.name for o in self.session.get_outputs()}
        want_inputs = {meta.input_name, *(s.name for s in meta.states)}
        want_outputs = {*meta.output_names, *(s.output for s in meta.states)}
        if want_inputs - graph_inputs or want_outputs - graph_outputs:
            self.session = None
            raise ModelFileError(
                f"{path}: graph does not match its metadata; missing inputs "
                f"{sorted(want_inputs - graph_inputs)}, "
                f"missing outputs {sorted(want_outputs - graph_outputs)}"
            )
        self._fetch = [*meta.output_names, *(s.output for s in meta.states)]
        super().__init__(meta, num_streams)

    def _forward(
        self, images: np.ndarray, states: list[np.ndarray]
    ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        if self.session is None:
            raise RuntimeError("this OnnxEngine is closed")
        feeds = {self.meta.input_name: images}
        feeds.update((spec.name, state) for spec, state in zip(self.meta.states, states))
        results = self.session.run(self._fetch, feeds)
        n_out = len(self.meta.output_names)
        return dict(zip(self.meta.output_names, results[:n_out])), results[n_out:]

    def close(self) -> None:
        """Drop the session, so its thread pool and memory go now, not at garbage collection."""
        self.session = None
