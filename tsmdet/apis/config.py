"""Loading a tsmdet config and checking, before any work starts, that its data is there."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for the tools)

logger = logging.getLogger(__name__)


class DataNotFoundError(FileNotFoundError):
    """A path a config needs does not exist; the message names it and says how to make it."""


def load_config(path: str | os.PathLike, cfg_options: dict | None = None, data_root: str | None = None) -> Config:
    """Read a config, apply ``--cfg-options`` and an optional ``--data-root``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config not found: {path}")
    cfg = Config.fromfile(str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root:
        set_data_root(cfg, data_root)
    return cfg


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset and evaluator of ``cfg`` at ``data_root``.

    ``--cfg-options data_root=...`` cannot do this: mmengine resolves the
    top-level ``data_root`` variable into the dataset dicts when the config file
    is read, so overriding it afterwards changes nothing else.
    """
    old = str(cfg.get("data_root", ""))
    new = data_root if data_root.endswith("/") else data_root + "/"
    cfg.data_root = new
    for split in ("train", "val", "test"):
        loader = cfg.get(f"{split}_dataloader")
        if loader:
            for ds in _datasets(loader["dataset"]):
                ds["data_root"] = new
        evaluators = cfg.get(f"{split}_evaluator")
        if evaluators:
            for ev in evaluators if isinstance(evaluators, list) else [evaluators]:
                ann = ev.get("ann_file")
                if ann and old and str(ann).startswith(old):
                    ev["ann_file"] = new + str(ann)[len(old):]


def _datasets(cfg_dataset: dict) -> list[dict]:
    """Flatten ConcatDataset / RepeatDataset wrappers into the leaf dataset configs."""
    if "datasets" in cfg_dataset:
        return [leaf for ds in cfg_dataset["datasets"] for leaf in _datasets(ds)]
    if "dataset" in cfg_dataset:
        return _datasets(cfg_dataset["dataset"])
    return [cfg_dataset]


def check_data_paths(cfg: Config, splits: tuple[str, ...] = ("train", "val", "test")) -> None:
    """Fail early, naming the missing path, instead of deep inside a dataloader worker.

    Checks ``data_root``, each ``ann_file`` and each image prefix of the
    dataloaders of ``splits`` that the config defines.
    """
    for split in splits:
        loader = cfg.get(f"{split}_dataloader")
        if not loader:
            continue
        for ds in _datasets(loader["dataset"]):
            root = Path(ds.get("data_root") or "")
            if ds.get("type") == "VideoClassificationDataset":
                _check_recognition_paths(split, ds, root)
                continue
            if ds.get("data_root") and not root.is_dir():
                raise DataNotFoundError(
                    f"{split} data root not found: {root}. Point the config at your ILSVRC2015 folder with "
                    f"--data-root /path/to/ILSVRC2015 (or generate synthetic data with "
                    f"tools/make_synthetic_vid.py)."
                )
            ann = ds.get("ann_file")
            if ann:
                ann_path = root / ann
                if not ann_path.is_file():
                    raise DataNotFoundError(
                        f"{split} annotation file not found: {ann_path}. Create it with: python "
                        f"tools/convert_imagenet_vid.py --root {root} --split <train|val|det> --out {ann_path}"
                    )
            prefix = (ds.get("data_prefix") or {}).get("img")
            if prefix is not None and not (root / prefix).is_dir():
                raise DataNotFoundError(f"{split} image folder not found: {root / prefix}")


_RECOGNITION_HINT = ("see docs/recognition.md (real data layouts), or make the synthetic set with "
                     "python tools/make_synthetic_actions.py --out data/synthetic_actions")


def _check_recognition_paths(split: str, ds: dict, root: Path) -> None:
    """``VideoClassificationDataset``: data root, annotation list, class-name file, video/frame folder."""
    if ds.get("data_root") and not root.is_dir():
        raise DataNotFoundError(f"{split} data root not found: {root}; {_RECOGNITION_HINT}")
    for key, what in (("ann_file", "annotation list"), ("class_names_file", "class-name file")):
        if ds.get(key) and not (root / ds[key]).is_file():
            raise DataNotFoundError(f"{split} {what} not found: {root / ds[key]}; {_RECOGNITION_HINT}")
    prefix = (ds.get("data_prefix") or {}).get("video")
    if prefix and not (root / prefix).is_dir():
        raise DataNotFoundError(f"{split} video folder not found: {root / prefix}; {_RECOGNITION_HINT}")
