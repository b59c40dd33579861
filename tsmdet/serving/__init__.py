"""Stateful multi-stream serving on NVIDIA Triton Inference Server (docs/serving.md).

tsmdet writes the model repository and drives the server binary; Triton's sequence batcher
does the serving (one correlation ID per stream, START/END, batching across streams).

* :mod:`.repository` — model repositories from an exported ONNX file's metadata
  (Python backend here; onnxruntime / TensorRT with implicit state for GPU servers);
* :mod:`.model` — the Python-backend model (per-correlation-ID caches, TTL eviction);
* :mod:`.pbtxt` — ``config.pbtxt`` writer and validation against Triton's schema;
* :mod:`.launcher` — starts/stops nvidia-pytriton's ``tritonserver`` (its own environment);
* :mod:`.load_test` — many concurrent streams against a server, checked against local runs.
* :mod:`.report` — the load test's PNG and Markdown table;
* :mod:`.defaults` — where the serving tools keep the model they use when given none.

The client engine is :class:`tsmdet.runtime.triton_engine.TritonEngine` (the runtime layer,
so an edge or client machine needs only numpy, OpenCV and tritonclient).
"""
