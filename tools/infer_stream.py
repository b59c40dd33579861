"""Run an online TSM model (detector or recognizer) on a video stream, frame by frame, with the shift caches.

    python tools/infer_stream.py                                  # built-in model + sample video
    python tools/infer_stream.py video.mp4 --engine onnx --model model.onnx
    python tools/infer_stream.py rtsp://camera/stream --engine trt --model model.onnx --show
    python tools/infer_stream.py frames/ --engine torch --config CFG --checkpoint CKPT
    python tools/infer_stream.py --task recognize                 # built-in gesture model + gesture video
    python tools/infer_stream.py 0 --model tsm_mbv2_jester_online.onnx   # webcam, smoothed gestures

Writes an annotated video and one JSON line per frame (flushed as it goes) into --out-dir unless
--out-video / --out-jsonl say otherwise, logs live FPS and per-stage latency, and prints a summary
at the end. --engine auto picks the engine from what is given: --config/--checkpoint -> torch,
--model -> TensorRT for an engine file, else TensorRT where usable, else onnxruntime; nothing ->
the built-in model the same way. A flag the chosen engine would ignore is an error.

Exit codes: 0 done (also a truncated file or skipped images: warnings, counted in the summary),
1 failed while running (a live source lost for good, an engine error), 2 bad input or usage,
129 / 130 / 143 stopped by SIGHUP / SIGINT / SIGTERM (outputs finalised). --debug: tracebacks.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tsmdet.apis.defaults import OUTPUTS, default_video
from tsmdet.runtime import ENGINE_CHOICES, is_engine_file
from tsmdet.streaming.cli import add_stream_arguments, check_stream_args, exit_code, run_from_args
from tsmdet.utils.cli import UsageError, check_paths, positive_int, reject_flags, run_tool

TORCH_FLAGS = ("--config", "--checkpoint", "--trust-checkpoint")
TRITON_FLAGS = ("--url", "--model-name")
logger = logging.getLogger("infer_stream")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_stream_arguments(parser)
    eng = parser.add_argument_group("engine")
    eng.add_argument("--engine", choices=[*ENGINE_CHOICES, "triton"], default="auto",
                     help="backend (default: auto, chosen from the flags given; "
                          "triton: a Triton server at --url, docs/serving.md)")
    eng.add_argument("--model", help="ONNX file or TensorRT engine (onnx/trt/auto; default: the built-in model)")
    eng.add_argument("--config", help="config of the model (torch engine; default: the built-in model's)")
    eng.add_argument("--checkpoint", help="checkpoint (torch engine; default: the built-in model's)")
    eng.add_argument("--trust-checkpoint", action="store_true",
                     help="allow full pickle for --checkpoint (torch engine; only for files you trust)")
    eng.add_argument("--task", choices=("detection", "recognition", "detect", "recognize"),
                     help="refuse a model of another task (default: run whatever the model is); "
                          "recognition (recognize) without a model runs the built-in online gesture model")
    parser.add_argument("--out-events", help="recognition: one JSON line per recognised gesture "
                                             "(label, start, end; default: next to the JSONL)")
    eng.add_argument("--threads", type=positive_int, default=None,
                     help="CPU compute threads of the torch/onnx engine (default: 1 on <= 2 usable cores, "
                          "else cores - 1; docs/deployment.md, 'Threads, contention and batched streams')")
    eng.add_argument("--url", default=None, help="Triton gRPC address (triton engine; default: localhost:8001)")
    eng.add_argument("--model-name", default=None, help="model name on the Triton server (default: tsmdet)")
    parser.add_argument("--out-dir", default=str(OUTPUTS / "stream"),
                        help="where the video and JSONL go when --out-video/--out-jsonl are not given "
                             "(default: %(default)s)")
    return parser.parse_args(argv)


def resolve_engine(args: argparse.Namespace) -> str:
    """The argument contract: the engine the flags ask for, and no flag it would ignore."""
    kind = args.engine
    if kind == "auto":
        if args.model and (args.config or args.checkpoint):
            raise UsageError("--model and --config/--checkpoint name two models; give one of them")
        if args.config or args.checkpoint:
            kind = "torch"
            logger.info("--engine auto -> torch (from --config/--checkpoint)")
    if kind == "torch":
        reject_flags(args, ("--model", *TRITON_FLAGS),
                     "is not used by --engine torch (it runs --config/--checkpoint)")
    elif kind == "triton":
        reject_flags(args, ("--model", *TORCH_FLAGS),
                     "is not used by --engine triton (the server holds the model)")
    else:
        reject_flags(args, (*TORCH_FLAGS, *TRITON_FLAGS),
                     f"is not used by --engine {args.engine} (it runs --model)")
        if kind == "onnx" and args.model and is_engine_file(args.model):
            raise UsageError(f"--model {args.model}: a TensorRT engine file; use --engine trt or auto")
    if kind in ("trt", "triton"):
        reject_flags(args, ("--threads",), f"sets torch/onnxruntime CPU threads; --engine {kind} does not use it")
    if args.trust_checkpoint and not args.checkpoint:
        raise UsageError("--trust-checkpoint needs --checkpoint (the built-in checkpoint needs no trust)")
    return kind


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kind = resolve_engine(args)
    args.task = {"detect": "detection", "recognize": "recognition"}.get(args.task, args.task)
    if args.task == "recognition":
        from tsmdet.apis.recognition_defaults import apply_recognition_defaults

        apply_recognition_defaults(args, kind)  # the shipped gesture model and video when none is given
    check_paths(("--model", args.model, "file"), ("--config", args.config, "file"),
                ("--checkpoint", args.checkpoint, "file"))
    if args.source is None:
        args.source = str(default_video())
    check_stream_args(args)
    if args.model and not is_engine_file(args.model):
        from tsmdet.runtime import read_onnx_meta

        read_onnx_meta(args.model, task=args.task)  # a bad file fails here, before any build or session
    if args.trust_checkpoint:
        from tsmdet.utils.checkpoint import trust_checkpoint

        trust_checkpoint(args.checkpoint)
    stem = Path(args.source.rstrip("/")).stem or "stream"
    args.out_video = args.out_video or str(Path(args.out_dir) / f"{stem}.{args.engine}.mp4")
    args.out_jsonl = args.out_jsonl or str(Path(args.out_dir) / f"{stem}.{args.engine}.jsonl")

    from tsmdet.apis.engines import open_engine

    with open_engine(kind, args.model, args.config, args.checkpoint, url=args.url,
                     model_name=args.model_name, threads=args.threads) as engine:  # closed on every exit (triton: END for the stream)
        if args.task and engine.meta.task != args.task:
            from tsmdet.runtime.errors import ModelFileError

            raise ModelFileError(f"{args.model or args.checkpoint or 'the model'}: a {engine.meta.task} model, "
                                 f"but --task {args.task} was asked for")
        from tsmdet.runtime.smoothing import with_smoothing

        if engine.meta.task == "recognition" and not args.out_events:
            args.out_events = str(Path(args.out_jsonl).with_suffix(".events.jsonl"))
        summary = run_from_args(args, with_smoothing(engine), engine.meta.classes)  # recognition: smoothed
    print(f"annotated video: {args.out_video}\nresults (JSONL): {args.out_jsonl}")
    if engine.meta.task == "recognition":
        print(f"gesture events (JSONL): {args.out_events}")
    return exit_code(summary)


if __name__ == "__main__":
    sys.exit(run_tool(main))
