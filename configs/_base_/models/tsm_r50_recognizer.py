# TSM ResNet-50 recognizer, the paper's offline recipe: 8 segments, 1/8 of the channels shifted
# each way (bidirectional) in the residual branch of every block, dropout 0.5, fc init std 0.001.
# Scores: per-frame logits averaged over the 8 segments, then over the test views
# (average_clips='score', as the TSM release; MMAction2's TSM configs use 'prob').
# ResNet-101 recipe: depth=101, shift_every=2 (every other block in every stage).
# Inputs: uint8 BGR clips (N, V*T, 3, H, W) from the dataset; mean/std on 0..255, RGB order.
model = dict(
    type="Recognizer2D",
    data_preprocessor=dict(
        type="ActionDataPreprocessor",
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(
        type="TSMResNet",
        depth=50,
        num_segments=8,  # T: frames per clip (= the dataset's num_segments)
        shift_div=8,
        shift_place="blockres",
        shift_direction="bidirectional",
        shift_every=1,
        temporal_pool=False,
        out_indices=(3,),  # only the last stage (2048 channels) feeds the head
        norm_eval=False,
        init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet50"),
    ),
    cls_head=dict(
        type="TSMHead",
        num_classes=400,
        in_channels=2048,
        dropout_ratio=0.5,
        init_std=0.001,
        average_clips="score",
        label_smooth_eps=0.0,
    ),
)
