# 7 epochs on 8 GPUs x 1 clip of 8 frames (64 images per iteration, 8 independent clips).
# Learning rate: mmdet's Faster R-CNN uses 0.02 for 16 independent images. Frames of one clip are
# strongly correlated, so we count clips, not frames: 0.02 for 8 clips, scaled linearly by
# auto_scale_lr (tools/train.py --cfg-options auto_scale_lr.enable=True) when you use another
# number of GPUs or clips per GPU.
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=7, val_interval=7)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
param_scheduler = [
    dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type="MultiStepLR", begin=0, end=7, by_epoch=True, milestones=[5], gamma=0.1),
]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2),
)
auto_scale_lr = dict(enable=False, base_batch_size=8)
