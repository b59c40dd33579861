"""Run an online TSM detector on a video stream, frame by frame, with the shift caches.

    python tools/infer_stream.py                                  # built-in model + sample video
    python tools/infer_stream.py video.mp4 --engine onnx --model model.onnx
    python tools/infer_stream.py rtsp://camera/stream --engine trt --model model.onnx --show
    python tools/infer_stream.py frames/ --engine torch --config CFG --checkpoint CKPT

Writes an annotated video and one JSON line of detections per frame (flushed as it goes) into
--out-dir unless --out-video / --out-jsonl say otherwise, logs live FPS and per-stage latency,
and prints a summary at the end. --engine auto picks TensorRT, else onnxruntime, else torch.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tsmdet.apis.defaults import OUTPUTS, default_video
from tsmdet.apis.engines import open_engine
from tsmdet.runtime import ENGINE_CHOICES, EngineUnavailableError
from tsmdet.streaming import run_stream
from tsmdet.streaming.cli import add_stream_arguments, sinks_from_args, source_from_args
from tsmdet.streaming.sources import SourceError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_stream_arguments(parser)
    eng = parser.add_argument_group("engine")
    eng.add_argument("--engine", choices=[*ENGINE_CHOICES, "triton"], default="auto",
                     help="backend (default: auto = TensorRT, else onnxruntime, else torch; "
                          "triton: a Triton server at --url, docs/serving.md)")
    eng.add_argument("--model", help="ONNX file or TensorRT engine (onnx/trt/auto; default: the built-in model)")
    eng.add_argument("--config", help="config of the model (torch engine; default: the built-in model's)")
    eng.add_argument("--checkpoint", help="checkpoint (torch engine; default: the built-in model's)")
    eng.add_argument("--url", default="localhost:8001", help="Triton gRPC address (triton engine; default: %(default)s)")
    eng.add_argument("--model-name", default=None, help="model name on the Triton server (default: tsmdet)")
    parser.add_argument("--out-dir", default=str(OUTPUTS / "stream"),
                        help="where the video and JSONL go when --out-video/--out-jsonl are not given "
                             "(default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.source is None:
        args.source = str(default_video())
    stem = Path(args.source.rstrip("/")).stem or "stream"
    args.out_video = args.out_video or str(Path(args.out_dir) / f"{stem}.{args.engine}.mp4")
    args.out_jsonl = args.out_jsonl or str(Path(args.out_dir) / f"{stem}.{args.engine}.jsonl")
    try:
        engine = open_engine(args.engine, args.model, args.config, args.checkpoint, url=args.url,
                             model_name=args.model_name)
        source = source_from_args(args)
    except (EngineUnavailableError, SourceError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sinks = sinks_from_args(args, engine.meta.classes, source.fps)
    try:
        summary = run_stream(source, engine, sinks, max_frames=args.max_frames, log_every_s=args.log_every)
    finally:
        engine.close()  # triton: END for the stream, so the server frees its caches now
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary.to_dict(), indent=2))
    print(f"annotated video: {args.out_video}\ndetections (JSONL): {args.out_jsonl}")
    return 1 if summary.end_reason == "reconnect_failed" else 0


if __name__ == "__main__":
    sys.exit(main())
