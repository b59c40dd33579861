"""The end-to-end demo behind ``make demo``: data, online evaluation, export, streaming.

Everything runs on built-in defaults, with nothing downloaded: the synthetic
set (generated once, the same one docs/experiments.md uses), the shipped
checkpoint (docs/experiments.md says how it was trained), and the sample video.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from tsmdet.datasets.imagenet_vid import convert_to_file
from tsmdet.datasets.synthetic import GENERATOR_VERSION, generate_synthetic_vid, generator_version
from .defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG, OUTPUTS, REPO_ROOT, default_video
from .engines import open_engine
from tsmdet.streaming import JsonlSink, VideoSink, open_source, run_stream

from .config import load_config
from .runner import build_runner, configure_test

logger = logging.getLogger(__name__)

SYNTHETIC_ROOT = REPO_ROOT / "data" / "synthetic_vid"
# The synthetic set of docs/experiments.md: tools/make_synthetic_vid.py with these arguments.
SYNTHETIC_ARGS = dict(seed=0, train_videos=120, val_videos=16, frames=32, size=(160, 120), mp4=3)


def prepare_synthetic_data(root: Path = SYNTHETIC_ROOT, workers: int = 2) -> Path:
    """Generate the synthetic set once and convert both splits (skipped when up to date)."""
    if generator_version(root) != GENERATOR_VERSION:
        if (root / "Annotations").is_dir():
            logger.info("%s was made by another version of the generator; regenerating it", root)
        else:
            logger.info("generating the synthetic data set in %s", root)
        generate_synthetic_vid(root, workers=workers, overwrite=True, **SYNTHETIC_ARGS)
    for split in ("train", "val"):
        convert_to_file(root, split, root / "annotations" / f"imagenet_vid_{split}.json", workers=workers)
    return root


def evaluate_online(config: Path, checkpoint: Path, data_root: Path, out_dir: Path) -> dict:
    """Online evaluation on the val split; returns the VID report (also written to ``out_dir``)."""
    cfg = load_config(config, data_root=str(data_root))
    prefix = out_dir / "vid"
    configure_test(cfg, mode="online", out_prefix=str(prefix))
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    build_runner(cfg, config, work_dir=str(out_dir / "eval"), load_from=str(checkpoint)).test()
    return json.loads(Path(f"{prefix}.REPORT.json").read_text())


def stream_sample(out_dir: Path, engine_kind: str = "onnx") -> dict:
    """The sample video through the exported model, frame by frame: annotated video + JSONL + latency."""
    video, jsonl = out_dir / f"sample.{engine_kind}.mp4", out_dir / f"sample.{engine_kind}.jsonl"
    with open_engine(engine_kind) as engine:  # closed on every exit, like the source and the sinks
        source = open_source(str(default_video()))
        try:
            sinks = [JsonlSink(jsonl, engine.meta.classes),
                     VideoSink(video, source.fps or 30.0, classes=engine.meta.classes, score_thr=0.3)]
        except BaseException:
            source.close()
            raise
        summary = run_stream(source, engine, sinks)
    return {"video": str(video), "jsonl": str(jsonl), "summary": summary}


def run_demo(out_dir: Path = OUTPUTS / "demo", engine_kind: str = "onnx") -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    data_root = prepare_synthetic_data()
    report = evaluate_online(DEFAULT_CONFIG, DEFAULT_CHECKPOINT, data_root, out_dir)
    stream = stream_sample(out_dir, engine_kind)
    return {"report": report, "report_md": str(out_dir / "vid.REPORT.md"), **stream}
