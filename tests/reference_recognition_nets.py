"""Reference recognition networks in the ORIGINAL checkpoint layouts, plain torch.

Written from the documented layouts of the TSM release (mit-han-lab
``temporal-shift-module``: torchvision ResNet / its own MobileNetV2 inside a
``TSN`` wrapper, shift = a module holding the wrapped conv as ``.net``) and of
MMAction2 1.x (``ResNetTSM`` with mmcv ``ConvModule`` naming ``.conv``/``.bn``,
``TSMHead.fc_cls``). Nothing here imports tsmdet: these nets are what the
converter's output is compared against. Widths are parameters so tests stay tiny.

Every net takes ``(N, T, 3, H, W)`` float RGB, already normalised, and returns
``(N, K)`` logits averaged over the T segments (both originals average logits
over segments before any softmax).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def reference_shift(x: Tensor, n_segment: int, fold_div: int) -> Tensor:
    """Bidirectional TSM shift from its definition: fold = c // fold_div channels;
    fold 0 takes frame t+1, fold 1 takes frame t-1, zeros past the clip ends."""
    nt, c, h, w = x.shape
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


class WrapShift(nn.Module):
    """The originals' ``TemporalShift(net, n_segment, n_div)``: shift the input, then run ``self.net``."""

    def __init__(self, net: nn.Module, n_segment: int, n_div: int) -> None:
        super().__init__()
        self.net, self.n_segment, self.fold_div = net, n_segment, n_div

    def forward(self, x: Tensor) -> Tensor:
        return self.net(reference_shift(x, self.n_segment, self.fold_div))


class WrapTemporalPool(nn.Module):
    """The originals' ``TemporalPool(net, n_segment)``: max of (t-1, t, t+1), stride 2, then ``net``."""

    def __init__(self, net: nn.Module, n_segment: int) -> None:
        super().__init__()
        self.net, self.n_segment = net, n_segment

    def forward(self, x: Tensor) -> Tensor:
        nt, c, h, w = x.shape
        v = x.view(nt // self.n_segment, self.n_segment, c, h, w).transpose(1, 2)
        v = F.max_pool3d(v, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
        return self.net(v.transpose(1, 2).contiguous().view(nt // 2, c, h, w))


# --- torchvision-style ResNet (the TSM release's base_model) -----------------------------


class TVBasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TVBottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(
            planes, planes, 3, stride, 1, bias=False
        )  # torchvision v1.5: stride in the 3x3
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TVResNet(nn.Module):
    def __init__(self, block: type, layers: list[int], width: int = 64, num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make(block, width, layers[0], 1)
        self.layer2 = self._make(block, width * 2, layers[1], 2)
        self.layer3 = self._make(block, width * 4, layers[2], 2)
        self.layer4 = self._make(block, width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc: nn.Module = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make(self, block: type, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def tsm_release_make_temporal_shift(
    net: TVResNet, n_segment: int, n_div: int, place: str, temporal_pool: bool
) -> None:
    """The release's ``make_temporal_shift`` + ``make_temporal_pool`` for ResNets, from its documented rules:
    per-stage segment counts (halved after layer1 with temporal pool), ``n_round = 2`` when layer3 has
    >= 23 blocks (ResNet-101: every other block), 'blockres' wraps ``conv1``, 'block' wraps the block."""
    seg = [n_segment] + [n_segment // 2 if temporal_pool else n_segment] * 3
    n_round = 2 if len(list(net.layer3.children())) >= 23 else 1
    for stage, name in enumerate(("layer1", "layer2", "layer3", "layer4")):
        blocks = list(getattr(net, name).children())
        for i, b in enumerate(blocks):
            if place == "blockres" and i % n_round == 0:
                b.conv1 = WrapShift(b.conv1, seg[stage], n_div)
            elif place == "block":
                blocks[i] = WrapShift(b, seg[stage], n_div)
        setattr(net, name, nn.Sequential(*blocks))
    if temporal_pool:
        net.layer2 = WrapTemporalPool(net.layer2, n_segment)


# --- the TSM release's MobileNetV2 (archs/mobilenet_v2.py layout: features.N.conv.M) -------


class TSMInvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        if expand_ratio == 1:
            self.conv = nn.Sequential(
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup),
            )
        else:
            self.conv = nn.Sequential(
                nn.Conv2d(inp, hidden, 1, 1, 0, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup),
            )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class TSMMobileNetV2Ref(nn.Module):
    """Width 1.0: ``features`` = stem conv_bn, 17 inverted residuals, 1x1 conv to 1280; ``classifier``."""

    SETTING = [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        features: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True))
        ]
        inp = 32
        for t, c, n, s in self.SETTING:
            for i in range(n):
                features.append(TSMInvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        features.append(
            nn.Sequential(
                nn.Conv2d(inp, 1280, 1, 1, 0, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(inplace=True)
            )
        )
        self.features = nn.Sequential(*features)
        self.classifier: nn.Module = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).mean(3).mean(2))


def tsm_release_shift_mobilenet(net: TSMMobileNetV2Ref, n_segment: int, n_div: int) -> None:
    """The release's rule: wrap ``conv[0]`` of every expanded inverted residual with a residual connection."""
    for m in net.modules():
        if isinstance(m, TSMInvertedResidual) and len(m.conv) == 8 and m.use_res_connect:
            m.conv[0] = WrapShift(m.conv[0], n_segment, n_div)


class TSMReleaseTSN(nn.Module):
    """The release's ``TSN``: ``base_model`` + (dropout > 0) ``new_fc``; logits averaged over segments."""

    def __init__(
        self,
        base_model: nn.Module,
        last_layer_name: str,
        num_classes: int,
        dropout: float,
        num_segments: int,
        temporal_pool: bool = False,
    ) -> None:
        super().__init__()
        self.base_model = base_model
        feature_dim = getattr(base_model, last_layer_name).in_features
        if dropout == 0:
            setattr(base_model, last_layer_name, nn.Linear(feature_dim, num_classes))
            self.new_fc = None
        else:
            setattr(base_model, last_layer_name, nn.Dropout(p=dropout))
            self.new_fc = nn.Linear(feature_dim, num_classes)
        self.out_segments = num_segments // 2 if temporal_pool else num_segments

    def forward(self, clips: Tensor) -> Tensor:
        out = self.base_model(clips.reshape(-1, *clips.shape[2:]))  # (N*T', K) or features
        if self.new_fc is not None:
            out = self.new_fc(out)
        return out.view(-1, self.out_segments, out.shape[-1]).mean(dim=1)


# --- MMAction2's ResNetTSM (ConvModule naming) and TSMHead -----------------------------------


class ConvModuleRef(nn.Module):
    """mmcv ``ConvModule`` layout: ``.conv`` then ``.bn`` then an optional ReLU."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        padding: int = 0,
        act: bool = True,
        groups: int = 1,
        relu6: bool = False,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = (nn.ReLU6(inplace=True) if relu6 else nn.ReLU(inplace=True)) if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class MMBottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = ConvModuleRef(inplanes, planes, 1)
        self.conv2 = ConvModuleRef(planes, planes, 3, stride, 1)
        self.conv3 = ConvModuleRef(planes, planes * 4, 1, act=False)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class MMResNetTSM(nn.Module):
    """MMAction2 ``ResNetTSM`` (Bottleneck, pytorch style): the shift wraps ``conv1.conv`` as ``.net``."""

    def __init__(self, layers: list[int], width: int, num_segments: int, shift_div: int) -> None:
        super().__init__()
        self.conv1 = ConvModuleRef(3, width, 7, 2, 3)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = width
        for i, n in enumerate(layers):
            planes, stride = width * 2**i, 1 if i == 0 else 2
            down = None
            if stride != 1 or inplanes != planes * 4:
                down = ConvModuleRef(inplanes, planes * 4, 1, stride, act=False)
            blocks = [MMBottleneck(inplanes, planes, stride, down)] + [
                MMBottleneck(planes * 4, planes, 1, None) for _ in range(1, n)
            ]
            inplanes = planes * 4
            for b in blocks:
                b.conv1.conv = WrapShift(b.conv1.conv, num_segments, shift_div)
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(layers)
        self.out_channels = inplanes

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return x


class MMTSMHeadRef(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, num_segments: int) -> None:
        super().__init__()
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.num_segments = num_segments

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc_cls(x).view(-1, self.num_segments, self.fc_cls.out_features).mean(dim=1)


class MMRecognizerRef(nn.Module):
    """MMAction2 ``Recognizer2D``: ``backbone`` (ResNetTSM; MobileNetV2TSM if no ``layers``), ``cls_head``."""

    def __init__(
        self, layers: list[int] | None, width: int, num_classes: int, num_segments: int, shift_div: int = 8
    ) -> None:
        super().__init__()
        self.backbone: nn.Module = (
            MMResNetTSM(layers, width, num_segments, shift_div)
            if layers is not None
            else MMMobileNetV2TSM(num_segments, shift_div)
        )
        self.cls_head = MMTSMHeadRef(self.backbone.out_channels, num_classes, num_segments)

    def forward(self, clips: Tensor) -> Tensor:
        return self.cls_head(self.backbone(clips.reshape(-1, *clips.shape[2:])))


class MMInvertedResidual(nn.Module):
    """MMAction2's MobileNetV2 block: ``conv`` = Sequential of ConvModules (expand?, depthwise, linear)."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [ConvModuleRef(inp, hidden, 1, relu6=True)] if expand_ratio != 1 else []
        layers += [
            ConvModuleRef(hidden, hidden, 3, stride, 1, groups=hidden, relu6=True),
            ConvModuleRef(hidden, oup, 1, act=False),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MMMobileNetV2TSM(nn.Module):
    """MMAction2 ``MobileNetV2TSM`` (width 1.0): ``conv1``, ``layer1..7``, ``conv2``; the shift wraps the
    whole first ConvModule of every 3-module block with a residual connection (``conv.0.net.conv``)."""

    def __init__(self, num_segments: int, shift_div: int = 8) -> None:
        super().__init__()
        self.conv1 = ConvModuleRef(3, 32, 3, 2, 1, relu6=True)
        inp = 32
        for i, (t, c, n, s) in enumerate(TSMMobileNetV2Ref.SETTING):
            blocks = []
            for j in range(n):
                blocks.append(MMInvertedResidual(inp, c, s if j == 0 else 1, t))
                inp = c
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.conv2 = ConvModuleRef(inp, 1280, 1, relu6=True)
        for m in self.modules():
            if isinstance(m, MMInvertedResidual) and len(m.conv) == 3 and m.use_res_connect:
                m.conv[0] = WrapShift(m.conv[0], num_segments, shift_div)
        self.out_channels = 1280

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(x)
        for i in range(len(TSMMobileNetV2Ref.SETTING)):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.conv2(x)


def randomize_(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights AND BatchNorm statistics, scaled so activations stay O(1): a conversion
    that swaps, drops or misplaces any tensor then changes the logits visibly."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features**0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net.eval()
