"""Video classification evaluation: pure-numpy accuracy and report, and the mmengine ``AccuracyMetric``.

Importing this package registers ``AccuracyMetric`` in mmdet's METRICS (configs:
``custom_imports``); ``accuracy`` alone needs only numpy (and matplotlib for the PNG).
"""
from .accuracy import evaluate_recognition, format_summary, render_markdown, write_report
from .metric import AccuracyMetric

__all__ = ["AccuracyMetric", "evaluate_recognition", "format_summary", "render_markdown", "write_report"]
