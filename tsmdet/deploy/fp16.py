"""FP16 export that stays correct: the learned layers in fp16, box decoding and NMS in an fp32 island.

Why an island: class-aware NMS shifts every box by ``class_id * (max_coordinate + 1)``
(:func:`tsmdet.deploy.nms.class_offset_boxes`). With ImageNet VID's 30 classes and ~1000 px
inputs those coordinates reach 30,000, where fp16 has a step of 16 px (32 px above 32,768):
every IoU NMS computes is then taken on boxes rounded by up to 8-16 px, so two neighbouring
objects of a high class id snap onto one box and are merged, and thin duplicates collapse
to zero width and survive. Delta decoding (``exp`` of the size deltas, anchors times
strides) loses precision the same way. The graph's learned layers (backbone, neck, the
heads' convolutions and FCs) are where fp16 pays; everything after them stays fp32.

How: onnxconverter-common's ``convert_float_to_float16`` with a node block list, the
nodes outside the deploy module's fp16 scopes (``DeployDetector.fp16_scopes``; the
TorchScript exporter names every node after its module path, ``/backbone/layer1/...``).
The graph inputs and outputs stay fp32 (``keep_io_types``), so engines are unchanged; the
converter inserts the Casts at the island's borders. The metadata records ``precision``.

onnxruntime's CPU provider has no fp16 kernels for most of these ops: it casts each run of
fp16 nodes to fp32 and removes the round trips it inserted, so on a CPU an fp16 file computes
mostly in fp32 with fp16 weights. :func:`emulate_fp16` makes the fp16 arithmetic explicit
instead (every output of an fp16 node rounded to fp16 by model Casts, which onnxruntime
keeps), which is what an fp16 GPU computes; the tests prove the island with it.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import onnx

logger = logging.getLogger(__name__)


def scope_prefixes(fp16_scopes: Sequence[str]) -> tuple[str, ...]:
    """Module paths (``head.roi.bbox_head``) -> ONNX node-name prefixes (``/head/roi/bbox_head/``)."""
    return tuple("/" + scope.replace(".", "/") + "/" for scope in fp16_scopes)


def fp32_island(model: onnx.ModelProto, fp16_scopes: Sequence[str]) -> list[str]:
    """Names of the nodes that stay fp32: every node outside the fp16 scopes."""
    prefixes = scope_prefixes(fp16_scopes)
    return [node.name for node in model.graph.node if not node.name.startswith(prefixes)]


def _split_shared_initializers(model: onnx.ModelProto, fp32_nodes: set[str]) -> onnx.ModelProto:
    """Give fp32-island nodes their own copy of initializers they share with fp16 nodes.

    The exporter deduplicates equal constants (all zero biases become one tensor, read through
    ``Identity`` nodes); the converter then keeps a shared tensor fp32 and the fp16 ``Conv``
    reading it fails to load (mixed input types).
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())  # a copy
    inits = {i.name: i for i in model.graph.initializer}
    readers: dict[str, set[bool]] = {}
    for node in model.graph.node:
        for name in node.input:
            if name in inits:
                readers.setdefault(name, set()).add(node.name in fp32_nodes)
    shared = {name for name, sides in readers.items() if len(sides) == 2}
    for name in shared:
        copy = model.graph.initializer.add()
        copy.CopyFrom(inits[name])
        copy.name = f"{name}__fp32"
    for node in model.graph.node:
        if node.name in fp32_nodes:
            node.input[:] = [f"{i}__fp32" if i in shared else i for i in node.input]
    return model


def _separate_read_outputs(model: onnx.ModelProto) -> None:
    """Give every graph output that nodes also read an ``Identity`` of its own.

    The converter keeps graph outputs fp32 by casting them after their producer, and the
    nodes that read the same value then get the fp32 copy next to fp16 inputs (the online
    shift's new cache is both a state output and read by the shift: ``Sub`` with mixed types).
    With the output produced by an ``Identity``, the readers keep the fp16 value.
    """
    outputs = {o.name for o in model.graph.output}
    read = {i for node in model.graph.node for i in node.input} & outputs
    inner = {name: f"{name}__read" for name in sorted(read)}
    for node in model.graph.node:  # one pass: producer and readers of each such output renamed
        node.output[:] = [inner.get(o, o) for o in node.output]
        node.input[:] = [inner.get(i, i) for i in node.input]
    model.graph.node.extend(onnx.helper.make_node("Identity", [value], [name], name=f"{name}__output")
                            for name, value in inner.items())


def _fix_converted_casts(model: onnx.ModelProto) -> None:
    """A converted ``Cast(to=float)`` must cast to fp16: the converter retypes its output but keeps ``to``."""
    fp16_values = {v.name for v in model.graph.value_info if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.output[0] in fp16_values:
            for attr in node.attribute:
                if attr.name == "to" and attr.i == onnx.TensorProto.FLOAT:
                    attr.i = onnx.TensorProto.FLOAT16


def _restore_fp32_outputs(model: onnx.ModelProto, float_outputs: set[str]) -> None:
    """Make graph outputs that came out fp16 fp32 again: the graph contract is fp32.

    With a node block list the converter ends some fp32-island outputs with a Cast to fp16
    (its ``keep_io_types`` only handles outputs of converted nodes); that Cast becomes an
    fp32 identity, so the island's boxes are not rounded to fp16 at the last step.
    """
    producers = {o: n for n in model.graph.node for o in n.output}
    for output in model.graph.output:
        if output.name not in float_outputs or output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            continue
        output.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
        producer = producers.get(output.name)
        if producer is not None and producer.op_type == "Cast":
            for attr in producer.attribute:
                if attr.name == "to":
                    attr.i = onnx.TensorProto.FLOAT
            continue
        inner = f"{output.name}_fp16"
        for node in model.graph.node:
            node.output[:] = [inner if o == output.name else o for o in node.output]
            node.input[:] = [inner if i == output.name else i for i in node.input]
        model.graph.node.append(onnx.helper.make_node("Cast", [inner], [output.name], to=onnx.TensorProto.FLOAT,
                                                      name=f"{output.name}_cast_to_fp32"))


def convert_to_fp16(model: onnx.ModelProto, fp16_scopes: Sequence[str] | None) -> onnx.ModelProto:
    """An fp16 copy of ``model`` with fp32 inputs/outputs.

    ``fp16_scopes``: module paths computed in fp16, everything else kept fp32 (the island).
    None converts every node the converter can (only the ops it always blocks, such as
    ``NonMaxSuppression``, ``TopK`` and ``RoiAlign``, stay fp32): the all-fp16 graph, kept
    to show what the island prevents (tests/test_fp16_export.py).
    """
    try:
        from onnxconverter_common import float16
    except ImportError as exc:  # pragma: no cover - the pin installs it
        raise ImportError("fp16 export needs onnxconverter-common: pip install onnxconverter-common") from exc

    block = fp32_island(model, fp16_scopes) if fp16_scopes is not None else []
    if fp16_scopes is not None and len(block) == len(model.graph.node):
        raise ValueError(f"no node of the graph is inside the fp16 scopes {list(fp16_scopes)}")
    float_outputs = {o.name for o in model.graph.output if o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    model = _split_shared_initializers(model, set(block))
    _separate_read_outputs(model)
    with warnings.catch_warnings():  # one "will be truncated" warning per tiny weight: fp16's range, expected
        warnings.simplefilter("ignore", UserWarning)
        converted = float16.convert_float_to_float16(model, keep_io_types=True, node_block_list=block)
    _fix_converted_casts(converted)
    _restore_fp32_outputs(converted, float_outputs)
    logger.info("fp16: %d of %d nodes kept fp32 (decoding, NMS, normalisation)", len(block),
                len(model.graph.node))
    return converted


def fp16_nodes(model: onnx.ModelProto, fp16_scopes: Sequence[str] | None) -> set[str]:
    """The nodes an fp16 conversion computes in fp16 (all the converter can, for ``fp16_scopes=None``)."""
    from onnxconverter_common.float16 import DEFAULT_OP_BLOCK_LIST

    if fp16_scopes is None:
        return {n.name for n in model.graph.node if n.op_type not in DEFAULT_OP_BLOCK_LIST}
    island = set(fp32_island(model, fp16_scopes))
    return {n.name for n in model.graph.node if n.name not in island and n.op_type not in DEFAULT_OP_BLOCK_LIST}


def emulate_fp16(model: onnx.ModelProto, fp16_scopes: Sequence[str] | None) -> onnx.ModelProto:
    """An fp32 graph that rounds like the fp16 conversion: fp16 weights and fp16 outputs of the fp16 nodes.

    Every float initializer read by an fp16 node is rounded to fp16, and every float output of
    an fp16 node goes through ``Cast(float16) -> Cast(float)``: fp16 storage with the fp32
    accumulation fp16 hardware uses. Runs on any onnxruntime, which keeps these model Casts.
    """
    import numpy as np
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())  # a copy
    inferred = onnx.shape_inference.infer_shapes(model)
    float_values = {v.name for v in [*inferred.graph.value_info, *inferred.graph.output]
                    if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    chosen = fp16_nodes(model, fp16_scopes)
    read_by_fp16 = {i for n in model.graph.node if n.name in chosen for i in n.input}
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and init.name in read_by_fp16:
            rounded = numpy_helper.to_array(init).astype(np.float16).astype(np.float32)
            init.CopyFrom(numpy_helper.from_array(rounded, init.name))
    nodes = []
    for node in model.graph.node:
        nodes.append(node)
        if node.name not in chosen:
            continue
        for k, out in enumerate(node.output):
            if out not in float_values:
                continue
            raw = f"{out}__fp32"
            node.output[k] = raw
            nodes.append(onnx.helper.make_node("Cast", [raw], [f"{out}__fp16"], to=onnx.TensorProto.FLOAT16,
                                               name=f"{node.name}__to_fp16_{k}"))
            nodes.append(onnx.helper.make_node("Cast", [f"{out}__fp16"], [out], to=onnx.TensorProto.FLOAT,
                                               name=f"{node.name}__from_fp16_{k}"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.value_info[:]
    return model
