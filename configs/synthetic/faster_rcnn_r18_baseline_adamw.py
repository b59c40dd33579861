# docs/experiments.md rounds 5-6: the synthetic baseline detector continued with AdamW for 600 iterations
# (start it with --cfg-options load_from=CKPT; the 2D weights or a direction-trained backbone).
_base_ = ["./faster_rcnn_r18_baseline.py"]
optim_wrapper = dict(_delete_=True, type="OptimWrapper", optimizer=dict(type="AdamW", lr=0.0002, weight_decay=0.0001),
                     clip_grad=dict(max_norm=35, norm_type=2))
max_iters = 600
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type="MultiStepLR", by_epoch=False, begin=0, end=max_iters, milestones=[480], gamma=0.1),
]
