# TSM ResNet-50, 8 segments, Kinetics-400 (TSM paper: 71.2 % top-1 uniform 1x1x8, 74.1 % dense).
#   python tools/train.py configs/recognition/tsm_r50_k400_8f.py --data-root /data/kinetics400
#   tools/dist_train.sh configs/recognition/tsm_r50_k400_8f.py 8
#   python tools/test.py configs/recognition/tsm_r50_k400_8f.py CKPT    # 10 clips x 3 crops
# Dense recipe: set SampleSegments(mode="dense") in train/val/test pipelines (window 64, stride 8).
# From a TSM-release or MMAction2 checkpoint: tools/convert_checkpoint.py SRC DST --from tsm|mmaction2.
_base_ = [
    "../_base_/models/tsm_r50_recognizer.py",
    "../_base_/datasets/kinetics400_videos.py",
    "../_base_/schedules/recognition_sgd_50e.py",
    "../_base_/recognition_runtime.py",
]
model = dict(cls_head=dict(num_classes=400))
