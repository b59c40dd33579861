# Stage 2 of the shipped online gesture recognizer (tsm_r18_gestures_online.py is stage 3; the recipe
# and measurements: docs/recognition.md, "The shipped gesture model"). The synthetic TSM ResNet-18 with
# the PAST-only shift, so it runs one frame at a time with its 8 shift caches, on 8-frame windows at
# stride 2 (dense sampling, window 16) of the 16-24-frame gestures, i.e. gestures of 8-12 frames
# online (stride 1), the sample video's 10. New here: TransitionClipDataset, half of the training
# clips start with 1-4 frames of another video (label: the clip's own), as the stream's smoothing
# window and shift caches see after every scene change of the sample and at every gesture start/end.
# Stage 1 (500 iterations, the same without transitions, from the offline 4500-iteration TSM) is this
# file's predecessor: `git show 1bfe815:configs/recognition/synthetic/tsm_r18_gestures_online.py`.
#   OMP_NUM_THREADS=1 python tools/train.py configs/recognition/synthetic/tsm_r18_gestures_online_transitions.py \
#       --work-dir work_dirs/tsm_r18_gestures_online_tr     (from stage 1's work_dirs/tsm_r18_gestures_online_x3/iter_500.pth)
#   ... --work-dir work_dirs/tsm_r18_gestures_online_tr2 --cfg-options load_from=work_dirs/tsm_r18_gestures_online_tr/iter_1500.pth
_base_ = ["./tsm_r18_gestures.py"]
model = dict(backbone=dict(shift_direction="past"))
_dense = dict(type="SampleSegments", num_segments=8, mode="dense", window=16)
train_dataloader = dict(dataset=dict(
    type="TransitionClipDataset", prob=0.5, max_prefix=4,
    pipeline=[
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
max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
load_from = "work_dirs/tsm_r18_gestures_online_x3/iter_500.pth"  # stage 1 (see above)
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
# "no_gesture" (8) is the idle label; a window of 8 frames (the training clip; a gesture takes about
# 10 frames online); a new label only when the window's softmax reaches 0.8 (docs/recognition.md).
smoothing = dict(window=8, masked=[], fold={}, agree=2, history=20, threshold=0.8, idle=8)
