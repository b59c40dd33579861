# TSM ResNet-50, 8 segments, Something-Something V2 (TSM paper: about 61 % top-1; TSN 2D: far lower).
# Direction-sensitive classes: no flip anywhere (see the dataset base). The TSM release trains
# Something from ImageNet weights with weight decay 5e-4 and 50 epochs (lr steps 20, 40).
#   python tools/train.py configs/recognition/tsm_r50_sthv2_8f.py --data-root /data/sthv2
#   python tools/test.py configs/recognition/tsm_r50_sthv2_8f.py CKPT    # twice-sample x 3 crops
_base_ = [
    "../_base_/models/tsm_r50_recognizer.py",
    "../_base_/datasets/sthv2_frames.py",
    "../_base_/schedules/recognition_sgd_50e.py",
    "../_base_/recognition_runtime.py",
]
model = dict(cls_head=dict(num_classes=174))
optim_wrapper = dict(optimizer=dict(weight_decay=0.0005))
