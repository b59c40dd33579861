"""Evaluation: the ImageNet VID metric (standalone: numpy + pycocotools only).

The mmengine wrapper ``VIDMetric`` lives in ``tsmdet.evaluation.vid_mmdet_metric`` and is
deliberately not imported here, so that scoring detections needs no OpenMMLab install.
Configs register it with
``custom_imports=dict(imports=['tsmdet.evaluation.vid_mmdet_metric'], allow_failed_imports=False)``.
"""
from tsmdet.evaluation.vid_metric import evaluate_vid, format_summary, render_markdown, write_report

__all__ = ["evaluate_vid", "format_summary", "render_markdown", "write_report"]
