"""Build a TensorRT engine from an exported tsmdet ONNX model, on the GPU that will run it.

The engine is cached under a key of the ONNX bytes, TensorRT version, GPU name,
precision and batch profile (a second identical build reuses it) and gets the
model metadata sidecar <engine>.meta.json that the TensorRT engine reads. The
equivalent trtexec command is logged. Checks that need no TensorRT (the file
exists, every operator is supported by TensorRT's ONNX parser) run first.

The TensorRT version picks the path (docs/jetson.md, "TensorRT versions"): 8.6 sets
builder flags and can calibrate an fp32 ONNX for int8 (--calib); 10.x and 11.x build
strongly typed networks whose precision is the ONNX file's: fp16 needs an fp16 export,
int8 a QDQ ONNX (tools/quantize.py); 10.x still builds an fp32 ONNX as weakly typed fp16.
The library function is ``tsmdet.deploy.tensorrt.build_engine``.
"""
from __future__ import annotations

import argparse
import logging
import sys

from tsmdet.deploy.tensorrt import DEFAULT_CACHE_DIR, PRECISIONS, build_engine
from tsmdet.runtime import EngineUnavailableError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python tools/build_engine.py model.onnx --precision fp16 --out model.engine\n"
               "  python tools/build_engine.py model.onnx --precision int8 --calib clip.mp4 "
               "--calib-frames 300 --calib-cache model.calib")
    parser.add_argument("model", help="ONNX file written by the tsmdet exporter (with 'tsmdet' metadata)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp16",
                        help="engine precision (default fp16). TensorRT 8.6: builder flags (int8 also "
                             "enables fp16 for unquantised layers); 10.x / 11.x: must match the ONNX "
                             "(fp16 export, QDQ for int8)")
    parser.add_argument("--calib", metavar="SOURCE", default=None,
                        help="int8 calibration frames for an fp32 ONNX on TensorRT 8.6: a video file or an "
                             "image folder, read in order (states are produced by running the ONNX model "
                             "over it on onnxruntime); not needed for a QDQ ONNX")
    parser.add_argument("--calib-frames", type=int, default=200, metavar="N",
                        help="frames read from --calib (default 200)")
    parser.add_argument("--calib-cache", metavar="FILE", default=None,
                        help="calibration cache: reused when it exists, written after calibrating")
    parser.add_argument("--max-batch", type=int, default=1, metavar="N",
                        help="largest batch (stream slots per call) when the ONNX batch axis is dynamic")
    parser.add_argument("--opt-batch", type=int, default=None, metavar="N",
                        help="batch TensorRT tunes for and calibrates at (default: --max-batch)")
    parser.add_argument("--workspace", type=float, default=4.0, metavar="GB",
                        help="builder workspace memory limit in GiB (default 4; use 1-2 on small Jetsons)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also copy the engine (and its .meta.json) here")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR), metavar="DIR",
                        help="engine cache directory "
                             "(default $TSMDET_ENGINE_CACHE or ~/.cache/tsmdet/engines)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("build_engine")
    try:
        path = build_engine(
            args.model, precision=args.precision, calib_source=args.calib, calib_cache=args.calib_cache,
            calib_frames=args.calib_frames, workspace_gb=args.workspace, max_batch=args.max_batch,
            opt_batch=args.opt_batch, out=args.out, cache_dir=args.cache_dir,
        )
    except (FileNotFoundError, EngineUnavailableError, ValueError) as err:  # ValueError: bad op, bad args
        log.error("%s", err)
        return 2
    print(f"engine: {path}")
    return 0


if __name__ == "__main__":
    from tsmdet.utils.cli import run_tool  # the README exit codes: one line on bad input, 130/143

    sys.exit(run_tool(main))
