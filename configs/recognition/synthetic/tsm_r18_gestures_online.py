# Stage 2 of the online gesture recognizer (stage 3 is this config at 48x48, tsm_r18_gestures_online_48.py;
# the shipped one is stages 4-5 at 64x64, tsm_r18_gestures_online_64.py): tsm_r18_gestures.py with the PAST-only shift, so it runs one frame at a time with
# its 8 shift caches, fine-tuned from the offline 4500-iteration TSM (bidirectional -> past shift: same
# weights, fold 0 now comes from t-1) on 8-frame windows at stride 2 (dense, window 16) of the
# 16-24-frame gestures, i.e. gestures of 8-12 frames online at stride 1 (the sample video's 10).
#   stage 1: 500 iterations without transitions, `git show 1bfe815:<this file>`: val 78.9 %;
#   stage 2: this file twice (2 x 1500 iterations) with transition clips (TransitionClipDataset: half of
#   the clips start with 1-4 frames of another video, label the clip's own, as the stream's window and
#   caches are after every scene change): val 83.9 %, then 85.0 % (turn pair 52.5 %: chance).
# On the sample: swipe_left, swipe_right, zoom_in, swipe_up found inside their spans, 1 spurious event,
# the turn silent; on 29 sample-like streams 0.34 spurious events per stream (docs/recognition.md).
#   OMP_NUM_THREADS=1 python tools/train.py configs/recognition/synthetic/tsm_r18_gestures_online.py \
#       --work-dir work_dirs/tsm_r18_gestures_online_tr            (from stage 1, load_from below)
#   OMP_NUM_THREADS=1 python tools/train.py configs/recognition/synthetic/tsm_r18_gestures_online.py \
#       --work-dir work_dirs/tsm_r18_gestures_online_tr2 --cfg-options load_from=work_dirs/tsm_r18_gestures_online_tr/iter_1500.pth
# then tsm_r18_gestures_online_48.py (stage 3) from work_dirs/tsm_r18_gestures_online_tr2/iter_1500.pth,
# then tsm_r18_gestures_online_64.py twice (stages 4 and 5, shipped).
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
