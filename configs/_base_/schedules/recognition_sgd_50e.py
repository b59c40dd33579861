# The TSM release's schedule: SGD momentum 0.9, lr 0.01 for 64 clips (8 GPUs x 8), 50 epochs, lr x0.1
# at epochs 20 and 40, gradient norm clipped at 20. auto_scale_lr rescales the lr for another batch
# (tools/train.py --cfg-options auto_scale_lr.enable=True).
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=50, val_interval=5)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
param_scheduler = [dict(type="MultiStepLR", begin=0, end=50, by_epoch=True, milestones=[20, 40], gamma=0.1)]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=20, norm_type=2),
)
auto_scale_lr = dict(enable=False, base_batch_size=64)
