# Real-time edge detector: online TSM RetinaNet on MobileNetV2, 512x320 input, ImageNet VID (+DET).
#   python tools/train.py configs/vid_mbv2_tsm_retinanet.py --data-root /path/to/ILSVRC2015
#   python tools/export_onnx.py configs/vid_mbv2_tsm_retinanet.py CKPT --out mbv2_tsm.onnx
_base_ = [
    "_base_/models/retinanet_mbv2_tsm_fpn.py",
    "_base_/datasets/imagenet_vid_clips.py",
    "_base_/schedules/vid_8gpu_7e.py",
    "_base_/default_runtime.py",
]
edge_scale = (512, 320)
edge_train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="RandomResize", scale=edge_scale, ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackDetInputs", meta_keys={{_base_.meta_keys}}),
]
# the preprocessing contract of the edge model (see _base_/datasets/imagenet_vid_clips.py)
preprocess = dict(input_size=edge_scale, scale=edge_scale, pad_position="bottom_right", pad_value=None,
                  channel_order="RGB", mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
edge_test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="ContractPreprocess", **preprocess),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
]
train_dataloader = dict(
    batch_size=2,  # clips per GPU (16 frames of 512x320)
    dataset=dict(datasets=[
        dict(type="VIDClipDataset", data_root={{_base_.data_root}}, num_frames=8, pipeline=edge_train_pipeline,
             filter_cfg=dict(filter_empty_gt=True), ann_file="annotations/imagenet_det_30cls.json",
             data_prefix=dict(img="Data/DET/")),
        dict(type="VIDClipDataset", data_root={{_base_.data_root}}, num_frames=8, pipeline=edge_train_pipeline,
             filter_cfg=dict(filter_empty_gt=True), ann_file="annotations/imagenet_vid_train.json",
             data_prefix=dict(img="Data/VID/"), sampling="random_strided", max_stride=4, frames_per_video=15),
    ]),
)
val_dataloader = dict(dataset=dict(pipeline=edge_test_pipeline))
test_dataloader = val_dataloader
# mmdet's RetinaNet uses 0.01 for 16 images; here 0.01 for 16 clips (8 GPUs x 2), see the schedule.
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False, base_batch_size=16)
