# TSM MobileNetV2 recognizer (TSM release mobilenetv2 arch, as for Kinetics / Jester): width 1.0,
# bidirectional shift of 1/8 of the channels at the input of the expand conv of every inverted
# residual block with a residual connection, 8 segments, dropout 0.5, fc init std 0.001.
# mmdet MobileNetV2's out_indices count its 8 stages layer1..layer7 then conv2: index 7 is the
# last 1x1 conv (1280 channels), the feature the TSM head pools.
model = dict(
    type="Recognizer2D",
    data_preprocessor=dict(
        type="ActionDataPreprocessor",
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(
        type="TSMMobileNetV2",
        num_segments=8,
        shift_div=8,
        shift_place="blockres",
        shift_direction="bidirectional",
        widen_factor=1.0,
        out_indices=(7,),
        norm_eval=False,
        init_cfg=dict(type="Pretrained", checkpoint="open-mmlab://mmdet/mobilenet_v2"),
    ),
    cls_head=dict(
        type="TSMHead",
        num_classes=27,
        in_channels=1280,
        dropout_ratio=0.5,
        init_std=0.001,
        average_clips="score",
        label_smooth_eps=0.0,
    ),
)
