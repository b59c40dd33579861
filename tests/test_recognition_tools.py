"""tools/make_synthetic_actions.py -> tools/train.py -> tools/test.py on a tiny gesture set (in process:
the tools' main(argv), so the OpenMMLab imports are paid once),
the accuracy report + confusion PNG in the work dir, and inference_recognizer on a file, a frame
folder and a frame list (same scores as the test pipeline on that video)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import pytest

from tsmdet.apis import check_data_paths, load_config
from tsmdet.apis.config import DataNotFoundError

REPO = Path(__file__).resolve().parents[1]
CONFIG = "configs/recognition/synthetic/tsm_r18_gestures.py"
SMALL = ["train_dataloader.batch_size=2", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
         "val_dataloader.num_workers=0", "test_dataloader.num_workers=0", "default_hooks.logger.interval=1",
         "train_cfg.max_iters=2", "train_cfg.val_interval=2", "default_hooks.checkpoint.interval=2"]


def run(args: list[str]) -> int:
    """``python tools/X.py ARGS`` in this process: the tool's ``main(argv)`` return code."""
    spec = importlib.util.spec_from_file_location(Path(args[0]).stem + "_tool", REPO / args[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(args[1:])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gestures")
    data, work = root / "data", root / "work"
    made = run(["tools/make_synthetic_actions.py", "--out", str(data), "--train-videos", "9", "--val-videos", "9",
                "--min-frames", "10", "--max-frames", "12"])
    assert made == 0
    assert run(["tools/train.py", CONFIG, "--work-dir", str(work), "--data-root", str(data), "--cfg-options", *SMALL]) == 0
    return data, work


def test_make_synthetic_actions_refuses_a_non_empty_folder(trained, capsys):
    data, _ = trained
    assert run(["tools/make_synthetic_actions.py", "--out", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not empty" in err


def test_test_tool_writes_accuracy_report_and_confusion(trained):
    data, work = trained
    ckpt = work / "iter_2.pth"
    assert ckpt.is_file()
    out = work / "test"
    assert run(["tools/test.py", CONFIG, str(ckpt), "--work-dir", str(out), "--data-root", str(data),
                "--cfg-options", "test_dataloader.num_workers=0"]) == 0
    report = json.loads((out / "acc.REPORT.json").read_text())
    assert report["num_videos"] == 9 and len(report["per_class"]) == 9 and len(report["pairs"]) == 4
    assert sum(map(sum, report["confusion"])) == 9 and 0.0 <= report["top1"] <= report["top5"] <= 1.0
    assert "# Video classification evaluation" in (out / "acc.REPORT.md").read_text()
    assert (out / "acc.confusion.png").stat().st_size > 1000


def test_inference_recognizer_file_folder_and_frames(trained):
    from tsmdet.apis import inference_recognizer, init_recognizer

    data, work = trained
    cfg = load_config(REPO / CONFIG, data_root=str(data))
    model = init_recognizer(cfg, str(work / "iter_2.pth"))
    assert model.dataset_meta["classes"][0] == "swipe_left"
    folder = data / "frames" / "val" / "00001"
    by_folder = inference_recognizer(model, folder, topk=3)
    assert len(by_folder) == 3 and by_folder[0][1] >= by_folder[1][1] >= by_folder[2][1]
    frames = [cv2.imread(str(p)) for p in sorted(folder.glob("img_*.jpg"))]
    by_frames = inference_recognizer(model, frames, topk=3)
    assert [n for n, _ in by_frames] == [n for n, _ in by_folder]
    assert all(abs(a[1] - b[1]) < 1e-5 for a, b in zip(by_frames, by_folder))
    by_file = inference_recognizer(model, data / "videos" / "val" / "00001.mp4", topk=9)
    assert len(by_file) == 9 and abs(sum(s for _, s in by_file) - 1.0) < 1e-4
    with pytest.raises(FileNotFoundError):
        inference_recognizer(model, data / "nope.mp4")


def test_missing_recognition_data_is_named(tmp_path: Path):
    cfg = load_config(REPO / CONFIG, data_root=str(tmp_path))
    with pytest.raises(DataNotFoundError, match="annotation list not found.*make_synthetic_actions"):
        check_data_paths(cfg, splits=("train",))
