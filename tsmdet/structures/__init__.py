"""Data structures shared by datasets, models and metrics (mmengine data elements)."""
from .action_data_sample import ActionDataSample

__all__ = ["ActionDataSample"]
