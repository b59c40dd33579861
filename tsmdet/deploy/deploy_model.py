"""The deploy module: an mmdet detector with a TSM (or plain) backbone as the exported graph's function.

``build_deploy_model`` returns a module with exactly the graph contract of
:mod:`tsmdet.runtime.meta`::

    forward(image, *states) -> (boxes, scores, labels, num_dets, *new_states)

``image`` is the letterboxed frame, float32 0..255 in the model's channel order; the
data preprocessor's mean/std normalisation, the online backbone, the neck and an
export-friendly copy of the head's test path (:mod:`tsmdet.deploy.heads`: decoding,
NMS, fixed-size output) are all inside. The same module is the torch engine's model
and the reference the ONNX file is verified against. Head settings come from the
mmdet model's ``test_cfg`` unless given; this module is the only place that reads them.
"""
from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from ..runtime.meta import ModelMeta, StateSpec
from ..runtime.preprocess import Preprocess
from .heads import (
    DeltaCoder, DenseCandidates, OneStageDeployHead, RoIDeployHead, RPNDeployHead, TwoStageDeployHead,
)
from .onnx_utils import OPSET, state_names

logger = logging.getLogger(__name__)

DETECTION_OUTPUTS = ("boxes", "scores", "labels", "num_dets")
TRT_MAX_TOPK = 3840  # largest K TensorRT's TopK layer accepts


class DeployDetector(nn.Module):
    """Normalise, run the backbone online with explicit states, neck, export-friendly head."""

    def __init__(self, backbone: nn.Module, neck: nn.Module | None, head: nn.Module,
                 mean: Tensor, std: Tensor, online: bool) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head
        self.register_buffer("mean", mean.reshape(1, 3, 1, 1).float())
        self.register_buffer("std", std.reshape(1, 3, 1, 1).float())
        self.online = online

    def forward(self, image: Tensor, *states: Tensor) -> tuple[Tensor, ...]:
        x = (image - self.mean) / self.std  # (B, 3, H, W), as mmdet's data preprocessor
        if self.online:
            feats, new_states = self.backbone(x, states)
        else:
            feats, new_states = self.backbone(x), ()
        if self.neck is not None:
            feats = self.neck(feats)
        return (*self.head(feats), *new_states)

    def fp16_scopes(self) -> tuple[str, ...]:
        """Module paths of the learned layers, computed in fp16 by an fp16 export (tsmdet.deploy.fp16).

        Everything else (normalisation, top-k, box decoding, class-offset NMS, RoIAlign) is the
        fp32 island: those are the steps whose coordinates fp16 cannot hold.
        """
        scopes = ["backbone", *(["neck"] if self.neck is not None else [])]
        if isinstance(self.head, TwoStageDeployHead):
            return (*scopes, "head.rpn.candidates.head", "head.roi.bbox_head")
        return (*scopes, "head.candidates.head")


def _nms_settings(nms_cfg: dict, where: str) -> tuple[float, bool]:
    """(iou_threshold, class_agnostic) of an mmdet ``nms=dict(type='nms', ...)`` test config."""
    if nms_cfg.get("type", "nms") != "nms":
        raise NotImplementedError(f"{where}: only nms type 'nms' is exported, got {nms_cfg.get('type')!r}")
    return float(nms_cfg["iou_threshold"]), bool(nms_cfg.get("class_agnostic", False))


def _delta_coder(coder: object, where: str) -> DeltaCoder:
    if type(coder).__name__ != "DeltaXYWHBBoxCoder" or getattr(coder, "add_ctr_clamp", False):
        raise NotImplementedError(f"{where}: only DeltaXYWHBBoxCoder (without add_ctr_clamp) is exported, "
                                  f"got {type(coder).__name__}")
    return DeltaCoder(tuple(coder.means), tuple(coder.stds), bool(coder.clip_border))


def _candidates(head: nn.Module, cfg: dict, feat_sizes: list[tuple[int, int]], image_hw: tuple[int, int],
                nms_pre: int | None, num_classes: int) -> DenseCandidates:
    device = next(head.parameters()).device
    anchors = head.prior_generator.grid_priors(feat_sizes, device=device)
    nms_pre = int(cfg.get("nms_pre", -1) if nms_pre is None else nms_pre)
    return DenseCandidates(
        head, [a.float() for a in anchors], image_hw, _delta_coder(head.bbox_coder, type(head).__name__),
        num_classes, bool(head.use_sigmoid_cls), nms_pre, float(cfg.get("min_bbox_size", -1)),
    )


def _two_stage_head(detector: nn.Module, feat_sizes: list[tuple[int, int]], image_hw: tuple[int, int],
                    score_thr: float | None, max_det: int | None, nms_iou: float | None,
                    pre_nms_top_k: int | None) -> tuple[nn.Module, dict]:
    """Faster R-CNN (RPNHead + StandardRoIHead + SingleRoIExtractor with RoIAlign)."""
    rpn_head, roi_head = detector.rpn_head, detector.roi_head
    rpn_cfg, rcnn_cfg = rpn_head.test_cfg, roi_head.test_cfg
    extractor, bbox_head = roi_head.bbox_roi_extractor, roi_head.bbox_head
    layer = extractor.roi_layers[0]
    if type(roi_head).__name__ != "StandardRoIHead" or getattr(roi_head, "with_shared_head", False):
        raise NotImplementedError(f"only StandardRoIHead without a shared head is exported, "
                                  f"got {type(roi_head).__name__}")
    if type(layer).__name__ != "RoIAlign" or getattr(layer, "pool_mode", "avg") != "avg" or not layer.aligned:
        raise NotImplementedError("only RoIAlign(pool_mode='avg', aligned=True) RoI layers are exported")
    rpn_iou, _ = _nms_settings(rpn_cfg["nms"], "rpn test_cfg")
    rcnn_iou, agnostic = _nms_settings(rcnn_cfg["nms"], "rcnn test_cfg")
    settings = dict(
        num_classes=int(bbox_head.num_classes),
        score_thr=float(rcnn_cfg["score_thr"] if score_thr is None else score_thr),
        nms_iou=rcnn_iou if nms_iou is None else float(nms_iou),
        max_det=int(rcnn_cfg["max_per_img"] if max_det is None else max_det),
        num_proposals=int(rpn_cfg["max_per_img"]),
        rpn_nms_iou=rpn_iou,
    )
    rpn = RPNDeployHead(_candidates(rpn_head, rpn_cfg, feat_sizes, image_hw, pre_nms_top_k, 1),
                        rpn_iou, settings["num_proposals"])
    settings["nms_pre"] = rpn.candidates.nms_pre
    roi = RoIDeployHead(
        bbox_head, extractor.featmap_strides, tuple(layer.output_size), int(layer.sampling_ratio),
        float(extractor.finest_scale), image_hw, _delta_coder(bbox_head.bbox_coder, "bbox_head"),
        settings["num_classes"], bool(bbox_head.reg_class_agnostic), settings["score_thr"],
        settings["nms_iou"], settings["max_det"], agnostic,
    )
    return TwoStageDeployHead(rpn, roi), settings


def _one_stage_head(detector: nn.Module, feat_sizes: list[tuple[int, int]], image_hw: tuple[int, int],
                    score_thr: float | None, max_det: int | None, nms_iou: float | None,
                    pre_nms_top_k: int | None) -> tuple[nn.Module, dict]:
    """RetinaNet-style anchor head (prior generator + DeltaXYWHBBoxCoder)."""
    head = detector.bbox_head
    cfg = head.test_cfg
    iou, agnostic = _nms_settings(cfg["nms"], "test_cfg")
    settings = dict(
        num_classes=int(head.num_classes),
        score_thr=float(cfg.get("score_thr", 0.0) if score_thr is None else score_thr),
        nms_iou=iou if nms_iou is None else float(nms_iou),
        max_det=int(cfg["max_per_img"] if max_det is None else max_det),
    )
    candidates = _candidates(head, cfg, feat_sizes, image_hw, pre_nms_top_k, settings["num_classes"])
    settings["nms_pre"] = candidates.nms_pre
    return OneStageDeployHead(candidates, settings["score_thr"], settings["nms_iou"], settings["max_det"],
                              agnostic), settings


def _build_head(detector: nn.Module, *args) -> tuple[nn.Module, dict]:
    """Export-friendly head of a one- or two-stage detector and its settings (for the metadata)."""
    if getattr(detector, "roi_head", None) is not None and getattr(detector, "rpn_head", None) is not None:
        return _two_stage_head(detector, *args)
    head = getattr(detector, "bbox_head", None)
    if head is None or not hasattr(head, "prior_generator") or not hasattr(head, "bbox_coder"):
        raise NotImplementedError(
            f"{type(detector).__name__}: exported detectors are anchor-based one-stage (RetinaNet) "
            "or FasterRCNN-style two-stage (RPNHead + StandardRoIHead)")
    return _one_stage_head(detector, *args)


def check_contract(preprocess: Preprocess | None, input_size: tuple[int, int], channel_order: str,
                   mean: tuple[float, ...], std: tuple[float, ...]) -> Preprocess:
    """The preprocessing contract of an export, checked against the model it describes.

    mean/std are stored twice in a config (the contract and the model's data preprocessor);
    the export refuses a disagreement instead of deploying a second definition.
    """
    if preprocess is None:
        return Preprocess(input_size=tuple(input_size), channel_order=channel_order, mean=mean, std=std)
    problems = []
    if tuple(preprocess.input_size) != tuple(input_size):
        problems.append(f"input_size {preprocess.input_size} != export size {tuple(input_size)}")
    if preprocess.channel_order != channel_order:
        problems.append(f"channel_order {preprocess.channel_order} != data preprocessor's {channel_order}")
    for name, ours, model in (("mean", preprocess.mean, mean), ("std", preprocess.std, std)):
        if any(abs(a - b) > 1e-3 for a, b in zip(ours, model)):
            problems.append(f"{name} {ours} != data preprocessor's {model}")
    if problems:
        raise ValueError("the preprocess contract disagrees with the model: " + "; ".join(problems))
    # the model's exact float values, so the graph's normalisation and the metadata are one number
    return Preprocess(**{**preprocess.to_dict(), "mean": mean, "std": std})


def build_deploy_model(
    model: nn.Module, input_size: tuple[int, int], score_thr: float | None = None, max_det: int | None = None,
    nms_iou: float | None = None, pre_nms_top_k: int | None = None, classes: tuple[str, ...] | None = None,
    model_name: str = "", dynamic_batch: bool = False, preprocess: Preprocess | None = None,
) -> tuple[DeployDetector, ModelMeta]:
    """The graph-contract module and its metadata for ``input_size`` = (width, height).

    Args:
        model: an ``OnlineVideoDetector`` or a plain mmdet ``RetinaNet``/``FasterRCNN``; a
            backbone without ``init_state`` exports with zero states (the 2D baseline).
            The deploy module shares its submodules (and puts them in eval mode).
        score_thr, max_det, nms_iou: final NMS settings; None takes them from the test_cfg.
        pre_nms_top_k: per-level candidates before NMS (RetinaNet ``nms_pre``; the RPN's
            ``nms_pre`` for two-stage); None takes the test_cfg's.
        classes: class names; None takes ``model.dataset_meta['classes']``, else ``class_<i>``.
        dynamic_batch: only recorded in the metadata (``batch_size`` -1 instead of 1).
        preprocess: the preprocessing contract (the config's ``preprocess``); None: mmdet's test
            geometry for ``input_size`` (fit inside it, top-left, padded with the mean). Its input
            size, channel order and mean/std must agree with the model (ValueError otherwise).
    """
    detector = getattr(model, "detector", model)  # OnlineVideoDetector wraps the mmdet detector
    detector.eval()
    width, height = input_size
    preproc = detector.data_preprocessor
    divisor = int(getattr(preproc, "pad_size_divisor", 1))
    if width % divisor or height % divisor:
        raise ValueError(f"input size {width}x{height} must be a multiple of the data preprocessor's "
                         f"pad_size_divisor={divisor} (mmdet pads to it; the graph has a fixed size)")
    backbone = detector.backbone
    online = hasattr(backbone, "init_state")
    if online and len(backbone.shifts) and getattr(backbone, "shift_direction", "past") != "past":
        raise ValueError("only shift_direction='past' backbones run online; this one looks at the next frame")
    neck = detector.neck if getattr(detector, "with_neck", False) else None
    mean = preproc.mean if getattr(preproc, "_enable_normalize", True) else torch.zeros(3)
    std = preproc.std if getattr(preproc, "_enable_normalize", True) else torch.ones(3)
    contract = check_contract(preprocess, input_size, "RGB" if getattr(preproc, "_channel_conversion", False)
                              else "BGR", tuple(float(v) for v in mean.flatten()),
                              tuple(float(v) for v in std.flatten()))

    param = next(detector.parameters())
    states = backbone.init_state(1, height, width) if online else ()
    with torch.no_grad():
        probe = torch.zeros(1, 3, height, width, dtype=param.dtype, device=param.device)
        feats = backbone(probe, states)[0] if online else backbone(probe)
        feats = neck(feats) if neck is not None else feats
    head, settings = _build_head(detector, [tuple(f.shape[-2:]) for f in feats], (height, width),
                                 score_thr, max_det, nms_iou, pre_nms_top_k)
    if max(settings["max_det"], settings["nms_pre"], settings.get("num_proposals", 0)) > TRT_MAX_TOPK:
        logger.warning("a top-k above %d (max_det / nms_pre / proposals: %s) will not build on TensorRT",
                       TRT_MAX_TOPK, settings)
    deploy = DeployDetector(backbone, neck, head, mean.detach().cpu(), std.detach().cpu(), online).eval()
    deploy.to(param.device)

    num_classes = settings.pop("num_classes")
    if classes is None:
        classes = tuple((getattr(model, "dataset_meta", None) or {}).get("classes", ()))
    if classes and len(classes) != num_classes:
        raise ValueError(f"{len(classes)} class names for a head with {num_classes} classes")
    in_names, out_names = state_names(len(states))
    meta = ModelMeta(
        input_size=(width, height),
        classes=tuple(classes) or tuple(f"class_{i}" for i in range(num_classes)),
        states=tuple(StateSpec(i, o, tuple(s.shape)) for i, o, s in zip(in_names, out_names, states)),
        batch_size=-1 if dynamic_batch else 1,
        channel_order=contract.channel_order,
        mean=contract.mean,
        std=contract.std,
        pad_value=float(contract.pad_pixel[0]),  # pre-contract field; engines use `preprocess`
        preprocess=contract,
        output_names=DETECTION_OUTPUTS,
        max_det=settings["max_det"],
        score_thr=settings["score_thr"],
        model_name=model_name,
        extra={"detector": type(detector).__name__, "backbone": type(backbone).__name__,
               "opset": OPSET, "exporter": "torchscript", "learned_scopes": list(deploy.fp16_scopes()),
               **{k: v for k, v in settings.items()
                                                              if k not in ("max_det", "score_thr")}},
    )
    return deploy, meta
