# Small online TSM RetinaNet (MobileNetV2 x0.5) for the synthetic set: the one-stage edge model in miniature.
_base_ = [
    "../_base_/models/retinanet_mbv2_tsm_fpn.py",
    "../_base_/datasets/synthetic_vid_clips.py",
    "../_base_/schedules/synthetic_cpu.py",
    "../_base_/default_runtime.py",
]
model = dict(
    detector=dict(
        backbone=dict(num_segments=4, widen_factor=0.5, out_indices=(2, 4, 6), init_cfg=None),
        neck=dict(in_channels=[16, 48, 160], out_channels=64),
        bbox_head=dict(num_classes=4, in_channels=64, feat_channels=64,
                       anchor_generator=dict(octave_base_scale=2, strides=[8, 16, 32, 64, 128])),
    )
)
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=400))
log_processor = dict(by_epoch=False)
