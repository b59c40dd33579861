# Real-time one-stage detector for edge devices: RetinaNet on a TSM MobileNetV2 with the past-only
# shift (runs online), a light FPN (96 channels) and a 2-conv head.
model = dict(
    type="OnlineVideoDetector",
    test_mode="online",
    detector=dict(
        type="RetinaNet",
        data_preprocessor=dict(
            type="DetDataPreprocessor",
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_size_divisor=32,
        ),
        backbone=dict(
            type="TSMMobileNetV2",
            num_segments=8,  # T: frames per training clip (= the dataset's num_frames)
            shift_div=8,
            shift_place="blockres",
            shift_direction="past",
            widen_factor=1.0,
            out_indices=(2, 4, 6),
            frozen_stages=-1,
            norm_cfg=dict(type="BN", requires_grad=True),
            norm_eval=False,
            init_cfg=dict(type="Pretrained", checkpoint="open-mmlab://mmdet/mobilenet_v2"),
        ),
        neck=dict(type="FPN", in_channels=[32, 96, 320], out_channels=96, start_level=0,
                  add_extra_convs="on_input", num_outs=5),
        bbox_head=dict(
            type="RetinaHead",
            num_classes=30,
            in_channels=96,
            stacked_convs=2,
            feat_channels=96,
            anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4, scales_per_octave=3,
                                  ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
            bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            loss_bbox=dict(type="L1Loss", loss_weight=1.0),
        ),
        train_cfg=dict(
            assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                          ignore_iof_thr=-1),
            sampler=dict(type="PseudoSampler"),
            allowed_border=-1,
            pos_weight=-1,
            debug=False,
        ),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5),
                      max_per_img=100),
    ),
)
