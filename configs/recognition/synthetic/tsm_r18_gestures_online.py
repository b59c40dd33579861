# The online gesture recognizer shipped in checkpoints/ (tools/infer_stream.py --task recognize runs it
# on the sample video). Stage 3 of three fine-tunings of the offline 4500-iteration TSM of
# tsm_r18_gestures.py (bidirectional -> past shift: same weights, fold 0 now comes from t-1):
#   1. 500 iterations on 8-frame windows at stride 2 (`git show 1bfe815:<this file>`): val 78.9 %;
#   2. tsm_r18_gestures_online_transitions.py, 2 x 1500 iterations with transition clips (half of
#      the clips start in another video, as the stream does after a scene change): val 85.0 %;
#   3. this file: the same at 48x48 input instead of 32x32, 1000 iterations: val 87.8 % (turn pair 50 %).
# On the sample-like streams (write_gesture_video, seeds 1-29) with the smoothing below: swipes and
# zooms found in 98 % of their spans, 0.07 spurious events per 110-frame video; rotate_clockwise never
# (the turn direction is at chance; the 0.8 threshold keeps the unsure turns silent).
# Commands and the measurements: docs/recognition.md, "The shipped gesture model".
#   OMP_NUM_THREADS=1 python tools/train.py configs/recognition/synthetic/tsm_r18_gestures_online.py \
#       --work-dir work_dirs/tsm_r18_gestures_online_48
#   python tools/publish_checkpoint.py work_dirs/tsm_r18_gestures_online_48/iter_1000.pth \
#       checkpoints/synthetic_tsm_r18_gestures_online.pth
_base_ = ["./tsm_r18_gestures_online_transitions.py"]
_dense = dict(type="SampleSegments", num_segments=8, mode="dense", window=16)
train_dataloader = dict(dataset=dict(pipeline=[
    _dense,
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=54),
    dict(type="VideoMultiScaleCrop", input_size=48, scales=(1, 0.875, 0.75)),
    dict(type="PackActionInputs"),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(_dense, test_mode=True),
    dict(type="DecodeFrames"),
    dict(type="VideoResize", scale=48),
    dict(type="PackActionInputs"),
]))
test_dataloader = val_dataloader
max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
load_from = "work_dirs/tsm_r18_gestures_online_tr2/iter_1500.pth"  # stage 2
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=50, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters))
# Deployment: the whole 64x64 frame resized to 48x48 (square: no padding), RGB, normalised in the graph.
preprocess = dict(input_size=(48, 48))
