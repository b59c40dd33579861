# The 2D baseline: the same detector, data and schedule as vid_r50_tsm.py, without temporal shift.
_base_ = "vid_r50_tsm.py"
model = dict(
    detector=dict(
        backbone=dict(
            _delete_=True,
            type="ResNet",
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=1,
            norm_cfg=dict(type="BN", requires_grad=True),
            norm_eval=True,
            style="pytorch",
            init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet50"),
        )
    )
)
