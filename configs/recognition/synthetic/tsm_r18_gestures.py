# Small TSM ResNet-18 (16 base channels, 32x32 input, T=8) for the synthetic gesture set: trains on a
# 2-core CPU in minutes. Its TSN twin (tsn_r18_gestures.py) differs only by the shift.
#   python tools/make_synthetic_actions.py --out data/synthetic_actions
#   python tools/train.py configs/recognition/synthetic/tsm_r18_gestures.py
#   python tools/test.py configs/recognition/synthetic/tsm_r18_gestures.py work_dirs/tsm_r18_gestures/iter_1500.pth
_base_ = [
    "../../_base_/models/tsm_r50_recognizer.py",
    "../../_base_/datasets/synthetic_actions.py",
    "../../_base_/schedules/recognition_synthetic_cpu.py",
    "../../_base_/recognition_runtime.py",
]
model = dict(
    backbone=dict(depth=18, base_channels=16, num_segments=8, init_cfg=None),
    cls_head=dict(num_classes=9, in_channels=128, dropout_ratio=0.3, init_std=0.01),
)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=1500))
log_processor = dict(by_epoch=False)
