# The online gesture recognizer shipped in checkpoints/ (tools/infer_stream.py --task recognize runs it):
# tsm_r18_gestures.py with the PAST-only shift, so it runs one frame at a time with its 8 shift caches,
# trained on consecutive 8-frame windows (dense sampling, stride 1): online, frame t's caches hold
# frame t-1, so training clips must step one frame too (TSN segments 2-3 frames apart would not match).
#   python tools/train.py configs/recognition/synthetic/tsm_r18_gestures_online.py
#   python tools/publish_checkpoint.py work_dirs/tsm_r18_gestures_online/iter_900.pth \
#       checkpoints/synthetic_tsm_r18_gestures_online.pth
_base_ = ["./tsm_r18_gestures.py"]
model = dict(backbone=dict(shift_direction="past"))
_dense = dict(type="SampleSegments", num_segments=8, mode="dense", window=8)
train_dataloader = dict(dataset=dict(pipeline=[
    _dense,
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=36),
    dict(type="VideoMultiScaleCrop", input_size=32, scales=(1, 0.875, 0.75)),
    dict(type="PackActionInputs"),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(_dense, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=32),
    dict(type="PackActionInputs"),
]))
test_dataloader = val_dataloader
max_iters = 900
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.05, by_epoch=False, begin=0, end=100),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=100, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters))
# Deployment: the whole 64x64 frame resized to 32x32 (square frames: no padding), RGB, normalised in the graph.
preprocess = dict(input_size=(32, 32), channel_order="RGB",
                  mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
# The online demo's smoothing (tsmdet.runtime.smoothing) on this set: no masked or folded classes,
# "no_gesture" (8) is the idle label; a window of 8 frames (a gesture lasts 16-24).
smoothing = dict(window=8, masked=[], fold={}, agree=2, history=20, threshold=None, idle=8)
