# Iteration-based schedule of the synthetic TSM / TSN twins: minutes on a 2-core CPU, same for both.
max_iters = 1500
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
param_scheduler = [
    dict(type="LinearLR", start_factor=0.05, by_epoch=False, begin=0, end=100),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=100, end=max_iters, eta_min=1e-5),
]
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=0.002, weight_decay=0.0001),
    clip_grad=dict(max_norm=20, norm_type=2),
)
# A fixed seed so that docs/recognition.md's table re-runs from the same weights and clip order.
randomness = dict(seed=0)
