"""Export a module with the online state contract to ONNX.

The exporter is chosen deliberately: torch >= 2.9 defaults ``torch.onnx.export``
to the dynamo exporter, but we use the TorchScript tracer (``dynamo=False``):
it runs the temporal-shift pre-hooks as ordinary traced ops, it knows mmcv's
RoIAlign symbolic, and its opset-17 output is what TensorRT's ONNX parser
(8.6 and 10.x) is most tested on.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import Tensor, nn

OPSET = 17


def state_names(num_states: int) -> tuple[list[str], list[str]]:
    """Input and output names of the shift caches: ``state_i`` in, ``state_out_i`` out."""
    return [f"state_{i}" for i in range(num_states)], [f"state_out_{i}" for i in range(num_states)]


def export_online(
    module: nn.Module,
    image: Tensor,
    states: Sequence[Tensor],
    output_names: Sequence[str],
    path: str | os.PathLike,
    dynamic_batch: bool = False,
    opset: int = OPSET,
) -> None:
    """Export ``module(image, *states) -> (*outputs, *new_states)`` with named I/O.

    Inputs are named ``image, state_0..``; outputs ``*output_names, state_out_0..``.
    With ``dynamic_batch`` the first axis of every input and output is symbolic
    (several streams per call); otherwise all shapes are static.
    """
    in_states, out_states = state_names(len(states))
    inputs = ["image", *in_states]
    outputs = [*output_names, *out_states]
    dynamic_axes = {name: {0: "batch"} for name in inputs + outputs} if dynamic_batch else None
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module,
            (image, *states),
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
