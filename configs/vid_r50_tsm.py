# Online TSM Faster R-CNN R-50 FPN on ImageNet VID (+DET), clips of 8 frames, 8 GPUs.
#   python tools/train.py configs/vid_r50_tsm.py --data-root /path/to/ILSVRC2015
#   tools/dist_train.sh configs/vid_r50_tsm.py 8 --data-root /path/to/ILSVRC2015
_base_ = [
    "_base_/models/faster_rcnn_r50_tsm_fpn.py",
    "_base_/datasets/imagenet_vid_clips.py",
    "_base_/schedules/vid_8gpu_7e.py",
    "_base_/default_runtime.py",
]
