# The TSN twin of tsm_r18_gestures.py: the same TSMResNet with no shifted stage (a plain 2D
# ResNet-18 with identical parameters), same data, schedule and seed. It averages per-frame logits
# over the 8 segments, so it sees the set of frames but not their order: at chance on the
# direction pairs of the synthetic set by construction.
_base_ = ["./tsm_r18_gestures.py"]
model = dict(backbone=dict(shift_stages=()))
