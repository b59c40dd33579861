# TSM MobileNetV2, 8 segments, 20BN Jester (27 hand gestures; the model of the TSM online demo).
# Direction-sensitive classes: no flip (see the dataset base); the report adds the swipe / slide /
# turn / zoom pair accuracies. The TSM release fine-tunes Jester from Kinetics weights:
#   python tools/convert_checkpoint.py TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment8_e100_dense.pth \
#       work_dirs/mbv2_k400.pth --from tsm --config configs/recognition/tsm_mbv2_jester_8f.py
#   python tools/train.py configs/recognition/tsm_mbv2_jester_8f.py --data-root /data/jester \
#       --cfg-options load_from=work_dirs/mbv2_k400.pth
_base_ = [
    "../_base_/models/tsm_mbv2_recognizer.py",
    "../_base_/datasets/jester_frames.py",
    "../_base_/schedules/recognition_sgd_50e.py",
    "../_base_/recognition_runtime.py",
]
model = dict(cls_head=dict(num_classes=27))
train_cfg = dict(max_epochs=25, val_interval=5)
param_scheduler = [dict(type="MultiStepLR", begin=0, end=25, by_epoch=True, milestones=[10, 20], gamma=0.1)]
