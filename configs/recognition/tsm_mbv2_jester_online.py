# The TSM online gesture demo's model (online_demo/mobilenet_v2_tsm.py of mit-han-lab/temporal-shift-module):
# MobileNetV2 width 1.0, 27 Jester classes, a PAST-only shift of the first 1/8 of the channels at the input of
# the 10 inverted residual blocks with a residual connection (the demo's features 3, 5, 6, 8, 9, 10, 12, 13,
# 15, 16), one 224x224 frame at a time with the 10 caches as its state. The demo network sees BGR frames
# (OpenCV order kept through its PIL conversion) normalised with the RGB ImageNet mean/std: bgr_to_rgb=False.
#   python tools/convert_checkpoint.py mobilenetv2_jester_online.pth.tar \
#       checkpoints/tsm_mbv2_jester_online.pth \
#       --from tsm --config configs/recognition/tsm_mbv2_jester_online.py
#   python tools/export_onnx.py configs/recognition/tsm_mbv2_jester_online.py \
#       checkpoints/tsm_mbv2_jester_online.pth --out tsm_mbv2_jester_online.onnx
#   python tools/infer_stream.py 0 --model tsm_mbv2_jester_online.onnx      # webcam, smoothed gestures
_base_ = ["./tsm_mbv2_jester_8f.py"]
model = dict(
    data_preprocessor=dict(bgr_to_rgb=False),
    backbone=dict(shift_direction="past", init_cfg=None),
    cls_head=dict(dropout_ratio=0.0),  # the demo's bare `classifier`
)
classes = [
    "Doing other things", "Drumming Fingers", "No gesture", "Pulling Hand In", "Pulling Two Fingers In",
    "Pushing Hand Away", "Pushing Two Fingers Away", "Rolling Hand Backward", "Rolling Hand Forward",
    "Shaking Hand", "Sliding Two Fingers Down", "Sliding Two Fingers Left", "Sliding Two Fingers Right",
    "Sliding Two Fingers Up", "Stop Sign", "Swiping Down", "Swiping Left", "Swiping Right", "Swiping Up",
    "Thumb Down", "Thumb Up", "Turning Hand Clockwise", "Turning Hand Counterclockwise",
    "Zooming In With Full Hand", "Zooming In With Two Fingers", "Zooming Out With Full Hand",
    "Zooming Out With Two Fingers",
]
# The demo stretches the camera frame to 224x224 (no crop, aspect ratio not kept: keep_ratio=False);
# the graph input is BGR 0..255, normalised inside.
preprocess = dict(input_size=(224, 224), channel_order="BGR", keep_ratio=False,
                  mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
# The demo's post-processing (tsmdet.runtime.smoothing): argmax of the last 12 frames' summed logits;
# rolling / turning / pulling hand in (7, 8, 21, 22, 3) keep the previous label; "Doing other things" (0)
# shows as "No gesture" (2); a change needs the two previous labels to agree; 20 labels of history.
smoothing = dict(window=12, masked=[7, 8, 21, 22, 3], fold={0: 2}, agree=2, history=20, threshold=None,
                 idle=2)
