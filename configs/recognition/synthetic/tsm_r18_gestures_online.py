# The online gesture recognizer shipped in checkpoints/ (tools/infer_stream.py --task recognize runs it):
# tsm_r18_gestures.py with the PAST-only shift, so it runs one frame at a time with its 8 shift caches,
# trained on 8-frame windows at stride 2 (dense sampling, window 16) of the 16-24-frame gestures:
# online, the caches step one frame, so it expects gestures of about 8-12 frames (the sample video's;
# stride-1 windows of 8 frames saw a third of a gesture and reached 17 % val top-1 here, stride 2: 36 %).
# Fine-tuned from the offline TSM of tsm_r18_gestures.py (bidirectional -> past shift: same weights,
# fold 0 now comes from t-1): from scratch, 800 iterations on 8-frame windows stayed at chance here.
#   python tools/train.py configs/recognition/synthetic/tsm_r18_gestures.py (and its two continuations,
#   docs/experiments.md, into work_dirs/tsm_r18_gestures_x3)
#   python tools/train.py configs/recognition/synthetic/tsm_r18_gestures_online.py
#   python tools/publish_checkpoint.py work_dirs/tsm_r18_gestures_online_x3/iter_500.pth \
#       checkpoints/synthetic_tsm_r18_gestures_online.pth
_base_ = ["./tsm_r18_gestures.py"]
model = dict(backbone=dict(shift_direction="past"))
_dense = dict(type="SampleSegments", num_segments=8, mode="dense", window=16)
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
max_iters = 500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
load_from = "work_dirs/tsm_r18_gestures_x3/iter_1500.pth"  # the 4500-iteration offline TSM (docs/experiments.md)
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=50, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters))
# Deployment: the whole 64x64 frame resized to 32x32 (square frames: no padding), RGB,
# normalised in the graph.
preprocess = dict(input_size=(32, 32), channel_order="RGB",
                  mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
# The online demo's smoothing (tsmdet.runtime.smoothing) on this set: no masked or folded classes,
# "no_gesture" (8) is the idle label; a window of 8 frames (a gesture takes about 10 frames online).
smoothing = dict(window=8, masked=[], fold={}, agree=2, history=20, threshold=None, idle=8)
