"""Write a Triton model repository for an exported online model, and optionally serve it here.

    python tools/serve.py model.onnx --repo outputs/triton             # write the repositories
    python tools/serve.py model.onnx --repo outputs/triton --start     # ... and serve on 127.0.0.1:8001
    python tools/infer_stream.py video.mp4 --engine triton --url localhost:8001

REPO/python is served here by nvidia-pytriton's tritonserver (bash scripts/setup_triton.sh installs
it into .venv-triton/); REPO/onnxruntime and REPO/tensorrt are for a GPU server running NVIDIA's
Triton container (docs/serving.md). --start runs in the foreground until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tsmdet.apis.defaults import OUTPUTS, default_onnx
from tsmdet.serving.launcher import ServerStartError, TritonNotInstalledError, TritonServer, serve_forever
from tsmdet.serving.pbtxt import ConfigError
from tsmdet.serving.repository import DEFAULT_MODEL_NAME, ServingOptions, write_repository


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "model",
        nargs="?",
        help="ONNX file exported by tools/export_onnx.py (a dynamic batch, its default, lets streams batch) "
        "(default: the built-in model, exported with a dynamic batch)",
    )
    parser.add_argument(
        "--repo", default=str(OUTPUTS / "triton"), help="repository root to write (default: %(default)s)"
    )
    parser.add_argument(
        "--model-name", default=DEFAULT_MODEL_NAME, help="model name on the server (default: %(default)s)"
    )
    parser.add_argument(
        "--max-streams",
        type=int,
        default=16,
        help="streams batched together (max_candidate_sequences, max_batch_size; default: %(default)s)",
    )
    parser.add_argument(
        "--ttl-s",
        type=float,
        default=30.0,
        help="idle seconds after which a stream's caches are dropped (default: %(default)s)",
    )
    parser.add_argument(
        "--queue-delay-us",
        type=int,
        default=2000,
        help="how long a batch may wait for more streams (default: %(default)s)",
    )
    parser.add_argument("--instances", type=int, default=1, help="model instances (default: %(default)s)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="onnxruntime threads of the Python-backend model (0: all cores; default: %(default)s)",
    )
    run = parser.add_argument_group("serve here (--start)")
    run.add_argument(
        "--start", action="store_true", help="serve REPO/python on 127.0.0.1 until Ctrl-C / SIGTERM"
    )
    run.add_argument("--grpc-port", type=int, default=8001)
    run.add_argument("--http-port", type=int, default=8000)
    run.add_argument("--metrics-port", type=int, default=8002)
    run.add_argument("--log-file", help="server log (default: $TMPDIR/tritonserver-<grpc port>.log)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = ServingOptions(
            max_streams=args.max_streams,
            ttl_s=args.ttl_s,
            max_queue_delay_us=args.queue_delay_us,
            instances=args.instances,
            intra_op_threads=args.threads,
        )
        repo = write_repository(args.model or default_onnx(dynamic_batch=True), args.repo, args.model_name, options)
        if not args.start:
            for backend in ("python", "onnxruntime", "tensorrt"):
                print(f"{backend:12s} {repo.path(backend)}")
            return 0
        server = TritonServer(
            repo.path("python"),
            grpc_port=args.grpc_port,
            http_port=args.http_port,
            metrics_port=args.metrics_port,
            log_file=args.log_file,
        )
        ready = lambda s: print(
            f"serving {args.model_name} at grpc://{s.grpc_url} (Ctrl-C stops)", flush=True
        )
        return serve_forever(server, on_ready=ready)
    except (FileNotFoundError, ValueError, ConfigError, TritonNotInstalledError, ServerStartError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
