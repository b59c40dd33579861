"""tools/train.py, tools/test.py and tools/dist_train.sh end to end, as subprocesses, on a tiny synthetic set.

The synthetic Faster R-CNN config with one clip per iteration, no dataloader workers and a
validation only at the end; each run takes seconds on one CPU thread.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tsmdet.apis import check_data_paths, load_config
from tsmdet.apis.config import DataNotFoundError

REPO = Path(__file__).resolve().parents[1]
CONFIG = "configs/synthetic/faster_rcnn_r18_tsm.py"
SMALL = [
    "train_dataloader.batch_size=1", "train_dataloader.num_workers=0",
    "train_dataloader.persistent_workers=False", "val_dataloader.num_workers=0",
    "val_dataloader.persistent_workers=False", "test_dataloader.num_workers=0",
    "test_dataloader.persistent_workers=False", "default_hooks.logger.interval=1",
]
TIMEOUT = 300
REPORT_KEYS = {"ap", "ap50", "devkit_map", "ap50_slow", "ap50_medium", "ap50_fast", "per_class"}

# Registered through the run's custom_imports: after the checkpoint of iteration ``iter`` is
# written, say so and hang, so that the test kills the run at a known point (no race with
# the following iterations).
HANG_HOOK = '''
import time
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class HangAfterIter(Hook):
    priority = "LOWEST"  # after CheckpointHook (VERY_LOW) has saved this iteration

    def __init__(self, iter, marker):
        self.iter, self.marker = iter, marker

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iter:
            Path(self.marker).touch()
            time.sleep(600)
'''


def env(pythonpath: Path | None = None) -> dict[str, str]:
    out = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHON=sys.executable)
    if pythonpath is not None:
        out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")]))
    return out


def run_tool(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """Run a tool from the repository root; stdout and stderr together in ``.stdout``."""
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env(pythonpath), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)


def train_args(config: str, data_root: Path, work_dir: Path, max_iters: int, *extra: str) -> list[str]:
    return ["tools/train.py", config, "--data-root", str(data_root), "--work-dir", str(work_dir), *extra,
            "--cfg-options", f"train_cfg.max_iters={max_iters}", f"train_cfg.val_interval={max_iters}",
            "default_hooks.checkpoint.interval=2", *SMALL]


def train_lrs(log: str) -> dict[int, float]:
    """Iteration -> learning rate from mmengine's ``Iter(train) [i/n]  lr: x`` lines."""
    return {int(i): float(lr) for i, lr in re.findall(r"Iter\(train\) \[\s*(\d+)/\d+\]\s+lr: (\S+)", log)}


# ----------------------------------------------------------------------------- missing data
def test_train_with_missing_data_root_exits_2_naming_it(tmp_path):
    missing = tmp_path / "no_such_ILSVRC2015"
    result = run_tool("tools/train.py", CONFIG, "--data-root", str(missing),
                      "--work-dir", str(tmp_path / "wd"))
    assert result.returncode == 2, result.stdout[-3000:]
    assert str(missing) in result.stdout and "--data-root" in result.stdout
    assert "Traceback" not in result.stdout
    assert not (tmp_path / "wd").exists()  # nothing started


def test_missing_annotation_file_is_named_with_the_command_to_make_it(tiny_vid, tmp_path):
    root = tmp_path / "root"
    (root / "Data" / "VID").mkdir(parents=True)
    cfg = load_config(REPO / CONFIG, data_root=str(root))
    with pytest.raises(DataNotFoundError, match=r"imagenet_vid_train\.json.*convert_imagenet_vid\.py"):
        check_data_paths(cfg, splits=("train", "val"))
    check_data_paths(load_config(REPO / CONFIG, data_root=str(tiny_vid)))  # the tiny set is complete


# ----------------------------------------------------------------------------- kill + resume
@pytest.fixture(scope="module")
def resumed_run(tiny_vid, tmp_path_factory):
    """Train 4 iterations, killed (SIGKILL) right after the checkpoint of iteration 2, then ``--resume``d.

    Returns ``(work_dir, first_log, resumed_log)``.
    """
    tmp = tmp_path_factory.mktemp("resume")
    work_dir = tmp / "work"
    (tmp / "hang_after_iter.py").write_text(HANG_HOOK)
    marker = tmp / "at_iter_2"
    imports = [*load_config(REPO / CONFIG).custom_imports.imports, "hang_after_iter"]
    hanging_config = tmp / "faster_rcnn_r18_tsm_hang.py"
    hanging_config.write_text(
        f"_base_ = {str(REPO / CONFIG)!r}\n"
        f"custom_imports = dict(imports={imports!r}, allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='HangAfterIter', iter=2, marker={str(marker)!r})]\n")

    log_path = tmp / "first.log"
    with open(log_path, "w") as log:
        first = subprocess.Popen([sys.executable, *train_args(str(hanging_config), tiny_vid, work_dir, 4)],
                                 cwd=REPO, env=env(tmp), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + TIMEOUT
            while not marker.exists() and first.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert marker.exists(), f"never reached iteration 2:\n{log_path.read_text()[-3000:]}"
            first.send_signal(signal.SIGKILL)
        finally:
            if first.poll() is None:
                first.kill()
            first.wait(timeout=60)
    first_log = log_path.read_text()
    assert first.returncode == -signal.SIGKILL, first_log[-3000:]
    assert (work_dir / "iter_2.pth").is_file() and not (work_dir / "iter_4.pth").exists()
    assert Path((work_dir / "last_checkpoint").read_text().strip()).name == "iter_2.pth"

    resumed = run_tool(*train_args(CONFIG, tiny_vid, work_dir, 4, "--resume"))
    assert resumed.returncode == 0, resumed.stdout[-5000:]
    return work_dir, first_log, resumed.stdout


def test_resume_continues_from_the_last_checkpoint(resumed_run):
    from tsmdet.utils.checkpoint import load_checkpoint_file

    work_dir, first_log, log = resumed_run
    assert re.search(r"Auto resumed from the latest checkpoint \S*iter_2\.pth", log), log[-3000:]
    assert "resumed epoch: 0, iter: 2" in log
    first_lrs, resumed_lrs = train_lrs(first_log), train_lrs(log)
    assert set(first_lrs) == {1, 2} and set(resumed_lrs) == {3, 4}  # iterations 1-2 are not run again
    # The scheduler resumed too: the warm-up goes on instead of restarting at iteration 1's lr.
    assert first_lrs[1] < first_lrs[2] < resumed_lrs[3] < resumed_lrs[4]
    assert "vid/ap50" in log  # validation at the end, on the tiny val set
    assert Path((work_dir / "last_checkpoint").read_text().strip()).name == "iter_4.pth"
    checkpoint = load_checkpoint_file(work_dir / "iter_4.pth")
    assert checkpoint["meta"]["iter"] == 4
    assert checkpoint["meta"]["dataset_meta"]["classes"] == ("car", "bus", "zebra", "giant_panda")


# ----------------------------------------------------------------------------- test tool
@pytest.mark.parametrize("mode", ["online", "offline"])
def test_test_tool_writes_the_vid_report(mode, resumed_run, tiny_vid, tmp_path):
    """A fresh process loads the training checkpoint (safe loader) and writes the report files.

    Offline with T=5 (the shift has no parameters, so the T=4 checkpoint fits): 12-frame videos
    are cut into clips 5+5+2, the last one padded by 3 repeats of the last frame. Every val
    frame must be evaluated once: none dropped (mmengine cuts results at the number of
    samples, i.e. clips), none counted twice (the padding).
    """
    work_dir = resumed_run[0]
    out = tmp_path / "test"
    options = ["model.detector.test_cfg.rcnn.score_thr=0.0"]  # boxes on every frame, whatever the weights
    if mode == "offline":
        options.append("model.detector.backbone.num_segments=5")
    result = run_tool("tools/test.py", CONFIG, str(work_dir / "iter_4.pth"), "--data-root", str(tiny_vid),
                      "--work-dir", str(out), "--mode", mode, "--cfg-options", *SMALL, *options)
    assert result.returncode == 0, result.stdout[-5000:]
    report = json.loads((out / "vid.REPORT.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert set(report["per_class"]) == {"car", "bus", "zebra", "giant_panda"}
    val = json.loads((tiny_vid / "annotations/imagenet_vid_val.json").read_text())
    assert report["num_images"] == len(val["images"]) and report["num_gt"] == len(val["annotations"])
    assert (out / "vid.REPORT.md").read_text().startswith("# ImageNet VID evaluation")
    detections = json.loads((out / "vid.bbox.json").read_text())
    per_image = Counter(d["image_id"] for d in detections)
    assert set(per_image) == {image["id"] for image in val["images"]}  # no frame dropped
    assert max(per_image.values()) <= 100  # test_cfg.rcnn.max_per_img: no frame counted twice
    assert report["num_dets"] == len(detections)


def test_vid_metric_skips_padding_frames():
    import numpy as np

    from tsmdet.evaluation.vid_mmdet_metric import VIDMetric

    def sample(img_id, padded, score):
        pred = dict(bboxes=np.zeros((1, 4)), scores=np.array([score]), labels=np.array([0]))
        return dict(img_id=img_id, is_padded=padded, pred_instances=pred)

    metric = VIDMetric(ann_file="unused.json")
    metric.process({}, [sample(7, False, 0.9), sample(7, True, 0.1), sample(8, False, 0.5)])
    assert [(r["img_id"], float(r["scores"][0])) for r in metric.results] == [(7, 0.9), (8, 0.5)]


# ----------------------------------------------------------------------------- distributed
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dist_train_two_cpu_processes(tiny_vid, tmp_path):
    """torchrun with 2 CPU processes (gloo): 2 iterations, then validation split by VideoSampler."""
    work_dir = tmp_path / "dist"
    args = train_args(CONFIG, tiny_vid, work_dir, 2)[2:]  # the options after "tools/train.py CONFIG"
    environment = dict(env(), PORT=str(free_port()))
    result = subprocess.run(["bash", "tools/dist_train.sh", CONFIG, "2", *args], cwd=REPO, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout[-5000:]
    log = result.stdout
    assert "Distributed training: True" in log
    assert "Iter(train) [2/2]" in log
    assert (work_dir / "iter_2.pth").is_file()
    # Each rank evaluated one of the two val videos; rank 0 gathered every frame's detections.
    val = json.loads((tiny_vid / "annotations/imagenet_vid_val.json").read_text())
    evaluated = re.search(r"VID eval: .*\((\d+) images, (\d+) GT, (\d+) dets[,)]", log)
    assert evaluated, log[-3000:]
    assert int(evaluated[1]) == len(val["images"]) and int(evaluated[2]) == len(val["annotations"])
    assert int(evaluated[3]) > 0
