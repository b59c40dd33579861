"""``VideoClassificationDataset``: one annotation list (TSM or MMAction2 layout) -> clips + labels.

Config (``configs/_base_/datasets/*_recognition.py``)::

    dict(type='VideoClassificationDataset', data_root='data/sthv2/',
         ann_file='train_videofolder.txt', list_format='tsm', data_prefix=dict(video='frames/'),
         filename_tmpl='{:06d}.jpg', class_names_file='category.txt', pipeline=[...])

``list_format``: ``'tsm'`` / ``'rawframes'`` (``folder frames label``, frames from
``start_index`` named by ``filename_tmpl``) or ``'video'`` (``file label``). The list is
parsed and every path checked when the dataset is built, so a bad line fails at start with
``file:line``. A sample whose video turns out unreadable is dropped in training with a
warning (mmengine draws another index) and kept, marked ``skipped``, in testing so the
metric can name and count it.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from mmengine.dataset import BaseDataset

from mmdet.registry import DATASETS

from .annotations import FRAME_FORMATS, load_class_names, parse_annotation_list

logger = logging.getLogger(__name__)


@DATASETS.register_module()
class VideoClassificationDataset(BaseDataset):
    """Video classification from an annotation list; see the module docstring.

    Args:
        ann_file: the list, relative to ``data_root``.
        list_format: ``'tsm'``, ``'rawframes'`` or ``'video'``.
        data_prefix: ``dict(video=...)``, the folder the list's paths are relative to.
        filename_tmpl / start_index: frame file names of frame formats (TSM: ``img_{:05d}.jpg``
            Kinetics, ``{:05d}.jpg`` Something v1 / Jester, ``{:06d}.jpg`` Something v2; 1).
        class_names_file: one class name per line (relative to ``data_root``); sets
            ``metainfo['classes']`` and bounds the labels.
        num_classes: bounds the labels when there is no class-name file.
        check_files: check that every video / frame folder exists when the list is loaded.
    """

    def __init__(self, ann_file: str, list_format: str = "video", data_prefix: dict | None = None,
                 filename_tmpl: str = "img_{:05d}.jpg", start_index: int = 1,
                 class_names_file: str | None = None, num_classes: int | None = None,
                 check_files: bool = True, metainfo: dict | None = None, data_root: str = "",
                 pipeline: Sequence = (), test_mode: bool = False, **kwargs) -> None:
        self.list_format = list_format
        self.filename_tmpl = filename_tmpl
        self.start_index = start_index
        self.check_files = check_files
        self.num_skipped = 0
        metainfo = dict(metainfo or {})
        if class_names_file is not None:
            names_path = class_names_file if os.path.isabs(class_names_file) or not data_root \
                else os.path.join(data_root, class_names_file)
            metainfo.setdefault("classes", tuple(load_class_names(names_path)))
        self.num_classes = len(metainfo["classes"]) if metainfo.get("classes") else num_classes
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix or dict(video=""), pipeline=list(pipeline),
                         test_mode=test_mode, **kwargs)

    def load_data_list(self) -> list[dict]:
        prefix = self.data_prefix.get("video", "")
        records = parse_annotation_list(self.ann_file, self.list_format, self.num_classes, prefix,
                                        check_exists=self.check_files)
        frames = self.list_format in FRAME_FORMATS
        data_list = []
        for i, rec in enumerate(records):
            info = dict(video_id=i, label=rec.label, total_frames=rec.total_frames, ann_line=rec.line)
            if frames:
                info.update(frame_dir=rec.path, filename_tmpl=self.filename_tmpl, start_index=self.start_index)
            else:
                info.update(filename=rec.path)
            data_list.append(info)
        logger.info("%s: %d videos from %s", type(self).__name__, len(data_list), self.ann_file)
        return data_list

    def prepare_data(self, idx: int):
        """Run the pipeline; in training, drop a skipped (unreadable) video so another is drawn."""
        data = super().prepare_data(idx)
        if data is None or self.test_mode:
            return data
        sample = data["data_samples"]
        if sample.metainfo.get("skipped"):
            self.num_skipped += 1
            logger.warning("dropped unreadable video %s (%d dropped so far in this process)",
                           sample.metainfo.get("filename"), self.num_skipped)
            return None
        return data
