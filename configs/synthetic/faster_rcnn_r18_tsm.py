# Small online TSM Faster R-CNN for the synthetic set: trains on a 2-core CPU in minutes.
#   python tools/make_synthetic_vid.py --out data/synthetic_vid --train-videos 120 --val-videos 16
#   (convert both splits with tools/convert_imagenet_vid.py, see docs/experiments.md)
#   python tools/train.py configs/synthetic/faster_rcnn_r18_tsm.py
_base_ = [
    "../_base_/models/faster_rcnn_r50_tsm_fpn.py",
    "../_base_/datasets/synthetic_vid_clips.py",
    "../_base_/schedules/synthetic_cpu.py",
    "../_base_/default_runtime.py",
]
model = dict(
    detector=dict(
        backbone=dict(depth=18, base_channels=32, num_segments=4, frozen_stages=-1, norm_eval=False, init_cfg=None),
        neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
        rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
        roi_head=dict(
            bbox_roi_extractor=dict(out_channels=64),
            bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=4),
        ),
        train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300), rcnn=dict(sampler=dict(num=128))),
        test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)),
    )
)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=400))
log_processor = dict(by_epoch=False)
