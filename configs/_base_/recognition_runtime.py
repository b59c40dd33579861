# Runtime of the recognition configs: default_runtime.py with the recognition registrations
# (models, video-list data + clip transforms, accuracy metric) and the best-top-1 checkpoint.
# DetVisualizationHook stays: it draws nothing unless asked (draw=False).
_base_ = ["./default_runtime.py"]
custom_imports = dict(
    imports=["tsmdet.models", "tsmdet.datasets.recognition", "tsmdet.evaluation.recognition"],
    allow_failed_imports=False,
)
default_hooks = dict(checkpoint=dict(save_best="acc/top1", rule="greater"))
