"""What every checkpoint layout shares: unwrapping, the ``.net`` of shift wrappers, key mapping, checks.

A *layout* (one per source format and architecture) only says how a source
module path maps to ours (:class:`Layout`). Everything else — stripping the
``DataParallel`` prefix, removing the ``.net`` components that the originals'
shift and pool wrappers insert, reading *where* those wrappers sat (shifts have
no parameters, so only their ``.net`` tells where the source network shifted),
and listing every unmatched or mis-shaped key at once — is done here once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from torch import Tensor, nn

PARAM_LEAVES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
WRAPPER = "net"  # the attribute under which TSM's TemporalShift / TemporalPool hold the wrapped module


class ConversionError(ValueError):
    """The checkpoint does not fit; ``problems`` lists every offending key, not just the first."""

    def __init__(self, what: str, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:200]
        more = (
            f"\n  ... and {len(self.problems) - len(shown)} more" if len(self.problems) > len(shown) else ""
        )
        super().__init__(f"{what} ({len(self.problems)} problem(s)):\n  " + "\n  ".join(shown) + more)


@dataclass(frozen=True)
class ShiftSites:
    """Where a network shifts, in our module names (``{'layer1.0': 'blockres', ...}``) and pools."""

    blocks: dict[str, str] = field(default_factory=dict)
    pooled: frozenset[str] = frozenset()

    def describe(self) -> str:
        places = sorted(set(self.blocks.values()))
        pool = f", temporal pool before {sorted(self.pooled)}" if self.pooled else ""
        return f"{len(self.blocks)} shifted blocks ({'/'.join(places) or 'none'}){pool}"


@dataclass(frozen=True)
class Layout:
    """One source format: how to recognise it and how its module paths map to ours.

    ``map_module(path)`` takes a source module path (``DataParallel`` prefix and
    wrapper ``.net`` components already removed) and returns our path in the
    recognizer (``backbone.*`` / ``cls_head.fc_cls``), or None when it is not
    part of the layout. It must also map container paths (a stage, a block),
    which is how wrapper positions become :class:`ShiftSites`.
    """

    name: str
    source: str  # the --from value: 'tsm' | 'mmaction2'
    arch: str  # 'resnet' | 'mobilenet_v2'
    detect: Callable[[list[str]], bool]
    map_module: Callable[[str], str | None]
    # where the source shifts when its code (not a ``.net`` wrapper) does it: {our block: place}
    implied_sites: Callable[[], Mapping[str, str]] | None = None
    # settings the format fixes (``shift_direction``, ``bgr_to_rgb``, ``num_segments``, ``shift_div``)
    settings: Mapping[str, object] = field(default_factory=dict)


def regex_mapper(rules: list[tuple[str, str]]) -> Callable[[str], str | None]:
    """A ``map_module`` from ``(pattern, replacement)`` rules tried in order with ``re.fullmatch``."""
    compiled = [(re.compile(p), r) for p, r in rules]

    def map_module(path: str) -> str | None:
        for pattern, repl in compiled:
            if pattern.fullmatch(path):
                return pattern.sub(repl, path)
        return None

    return map_module


def unwrap_state_dict(ckpt: object, src: str) -> tuple[dict[str, Tensor], dict]:
    """``{'state_dict': ..., ...}`` (TSM release, MMAction2) or a bare state dict -> (state, the rest)."""
    if not isinstance(ckpt, Mapping):
        raise ConversionError(f"{src} is not a checkpoint dict", [f"top level is a {type(ckpt).__name__}"])
    state, extra = ckpt, {}
    if "state_dict" in ckpt and isinstance(ckpt["state_dict"], Mapping):
        state, extra = ckpt["state_dict"], {k: v for k, v in ckpt.items() if k != "state_dict"}
    bad = [f"{k}: a {type(v).__name__}, not a tensor" for k, v in state.items() if not isinstance(v, Tensor)]
    if bad:
        raise ConversionError(f"{src}: the state dict holds non-tensors", bad)
    if not state:
        raise ConversionError(f"{src}: empty state dict", ["no keys"])
    keys = list(state)
    if all(k.startswith("module.") for k in keys):  # saved from (Distributed)DataParallel
        state = {k[len("module.") :]: v for k, v in state.items()}
    return dict(state), extra


def without_wrappers(path: str) -> tuple[str, list[str]]:
    """Drop the wrappers' ``.net`` components; also return the (cleaned) path each wrapper wrapped."""
    kept: list[str] = []
    wrapped: list[str] = []
    for part in path.split("."):
        if part == WRAPPER:
            wrapped.append(".".join(kept))
        else:
            kept.append(part)
    return ".".join(kept), wrapped


def site_of(our_path: str) -> tuple[str, str] | None:
    """Classify a wrapped module (our naming): stage -> pool, block -> 'block', inside one -> 'blockres'."""
    if not our_path.startswith("backbone."):
        return None
    parts = our_path.split(".")[1:]
    if len(parts) == 1:
        return "pool", parts[0]
    if len(parts) == 2:
        return "block", ".".join(parts)
    return "blockres", ".".join(parts[:2])


def map_state_dict(
    state: Mapping[str, Tensor], layout: Layout
) -> tuple[dict[str, Tensor], ShiftSites, list[str]]:
    """Rename every key with ``layout`` and read the wrappers' positions.

    Returns the mapped state, the shift sites and the problems (unmatched keys,
    collisions); the caller adds the shape checks and reports them all together.
    """
    out: dict[str, Tensor] = {}
    origin: dict[str, str] = {}
    blocks: dict[str, str] = {}
    pooled: set[str] = set()
    problems: list[str] = []
    if layout.implied_sites is not None:
        blocks.update(layout.implied_sites())
    for key, value in state.items():
        clean, wrapped = without_wrappers(key)
        module, _, leaf = clean.rpartition(".")
        target = layout.map_module(module) if leaf in PARAM_LEAVES else None
        if target is None:
            problems.append(f"unmatched source key {key!r} {tuple(value.shape)}")
            continue
        new_key = f"{target}.{leaf}"
        if new_key in out:
            problems.append(f"source keys {origin[new_key]!r} and {key!r} both map to {new_key!r}")
            continue
        out[new_key], origin[new_key] = value, key
        for path in wrapped:
            mapped = layout.map_module(path)
            site = site_of(mapped) if mapped else None
            if site is None:
                problems.append(
                    f"a shift/pool wrapper at {path!r} (in {key!r}) sits where {layout.name} has none"
                )
            elif site[0] == "pool":
                pooled.add(site[1])
            else:
                blocks[site[1]] = site[0]
    return out, ShiftSites(blocks, frozenset(pooled)), problems


def model_shift_sites(backbone: nn.Module) -> ShiftSites:
    """Where our backbone shifts and pools, read from the pre-hooks of its TemporalShift/TemporalPool."""
    from tsmdet.ops.temporal_pool import TemporalPool
    from tsmdet.ops.temporal_shift import TemporalShift

    blocks: dict[str, str] = {}
    pooled: set[str] = set()
    for name, module in backbone.named_modules():
        for hook in module._forward_pre_hooks.values():
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, TemporalShift):
                parts = name.split(".")
                blocks[".".join(parts[:2])] = "block" if len(parts) == 2 else "blockres"
            elif isinstance(owner, TemporalPool):
                pooled.add(name)
    return ShiftSites(blocks, frozenset(pooled))


def check_against_model(
    state: Mapping[str, Tensor], sites: ShiftSites, model: nn.Module, what: str, prior: Iterable[str] = ()
) -> None:
    """Raise listing ``prior`` problems plus every missing, unexpected or mis-shaped key and every
    disagreement on where the networks shift (shifts have no weights: a strict load cannot see those)."""
    expected = model.state_dict()
    problems = list(prior)
    problems += [f"missing key {k!r} {tuple(v.shape)}" for k, v in expected.items() if k not in state]
    problems += [f"unexpected key {k!r} {tuple(v.shape)}" for k, v in state.items() if k not in expected]
    problems += [
        f"shape mismatch {k!r}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
        for k, v in state.items()
        if k in expected and v.shape != expected[k].shape
    ]
    backbone = getattr(model, "backbone", None)
    if backbone is not None:
        ours = model_shift_sites(backbone)
        for block in sorted(set(sites.blocks) | set(ours.blocks)):
            theirs_place, our_place = sites.blocks.get(block), ours.blocks.get(block)
            if theirs_place != our_place:
                problems.append(
                    f"shift at backbone.{block}: checkpoint {theirs_place or 'none'} "
                    f"vs model {our_place or 'none'}"
                )
        if sites.pooled != ours.pooled:
            problems.append(
                f"temporal pool before: checkpoint {sorted(sites.pooled)} vs model {sorted(ours.pooled)}"
            )
    if problems:
        raise ConversionError(f"the converted checkpoint does not fit {what}", problems)


def cast_like(state: Mapping[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """Float tensors in the model's dtype (a half-precision release loads into a float32 model)."""
    expected = model.state_dict()
    return {
        k: v.to(expected[k].dtype) if k in expected and v.is_floating_point() else v.clone()
        for k, v in state.items()
    }
