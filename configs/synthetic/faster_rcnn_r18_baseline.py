# The 2D baseline of faster_rcnn_r18_tsm.py: identical but for the temporal shift.
_base_ = "faster_rcnn_r18_tsm.py"
model = dict(
    detector=dict(
        backbone=dict(
            _delete_=True,
            type="ResNet",
            depth=18,
            base_channels=32,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=-1,
            norm_cfg=dict(type="BN", requires_grad=True),
            norm_eval=False,
            style="pytorch",
            init_cfg=None,
        )
    )
)
