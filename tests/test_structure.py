"""The package's shape: imports flow one way with no cycle, and state never leaks between streams or threads.

The import graph is read from the source (every ``import`` statement, function-local ones
included, since a lazy import is still a dependency), at the level of modules and of the
top-level rooms (``tsmdet.ops``, ``tsmdet.runtime``, ...).
"""
from __future__ import annotations

import ast
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "tsmdet"

# room -> rooms it must never import (directly or lazily). The layering of docs/architecture.md.
FORBIDDEN = {
    "ops": {"models", "deploy", "runtime", "streaming", "serving", "apis", "datasets", "evaluation"},
    "structures": {"models", "deploy", "runtime", "streaming", "serving", "apis", "datasets", "evaluation"},
    "models": {"deploy", "runtime", "streaming", "serving", "apis"},
    "datasets": {"models", "deploy", "streaming", "serving", "apis"},  # may use runtime's preprocessing contract
    "evaluation": {"models", "deploy", "streaming", "serving", "apis"},  # may score runtime results
    "deploy": {"serving", "apis"},  # may read calibration frames through streaming sources
    "runtime": {"ops", "models", "deploy", "streaming", "serving", "apis", "datasets", "evaluation"},
    "streaming": {"ops", "models", "deploy", "serving", "apis", "datasets", "evaluation"},
    "serving": {"ops", "models", "deploy", "apis", "datasets", "evaluation"},
    "utils": {"ops", "models", "deploy", "runtime", "streaming", "serving", "apis", "datasets", "evaluation"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every tsmdet module ``path`` imports (absolute or relative, at any depth of the file)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "tsmdet")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "tsmdet":
                continue
            found.add(target)
            for alias in node.names:  # `from tsmdet.x import y` may name a submodule y
                if (PACKAGE.parent / Path(*f"{target}.{alias.name}".split("."))).with_suffix(".py").is_file():
                    found.add(f"{target}.{alias.name}")
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path) if m in modules}
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None (iterative DFS, colours)."""
    colour = dict.fromkeys(graph, 0)
    for root in graph:
        if colour[root]:
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        colour[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child):] + [child]
            elif colour.get(child, 2) == 0:
                colour[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def test_import_graph_has_no_cycle_between_rooms():
    rooms: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        rooms.setdefault(_room(module), set()).update(_room(t) for t in targets if _room(t) != _room(module))
    rooms.pop("", None)
    for targets in rooms.values():
        targets.discard("")
    assert _find_cycle(rooms) is None, f"rooms import each other in a circle: {_find_cycle(rooms)}"


def test_import_graph_has_no_cycle_between_modules():
    # a package __init__ re-exporting its own modules is not a cycle of behaviour; drop those edges
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in import_graph().items()}
    assert _find_cycle(graph) is None, f"modules import each other in a circle: {_find_cycle(graph)}"


def test_layers_import_only_downwards():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if _room(target) in FORBIDDEN.get(_room(module), set())
    )
    assert not wrong, "imports against the layering of docs/architecture.md:\n" + "\n".join(wrong)


def test_graph_walker_sees_lazy_and_relative_imports(tmp_path):
    """The walker itself: a function-local relative import is an edge (else the tests above prove nothing)."""
    deps = _imports(PACKAGE / "apis" / "engines.py")
    assert "tsmdet.runtime" in deps and "tsmdet.deploy.export" in deps and "tsmdet.apis.defaults" in deps


# --------------------------------------------------------------------------- state between threads
def _run_interleaved(step, first_state, frames_a, frames_b):
    """Two threads, one stream each, forced to alternate frame by frame; returns each thread's outputs."""
    turn = threading.Condition()
    state = {"next": "a"}
    results: dict[str, list] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str, frames, other: str) -> None:
        s = first_state()
        try:
            for frame in frames:
                with turn:
                    turn.wait_for(lambda: state["next"] == name, timeout=30)
                    out, s = step(frame, s)
                    results[name].append(out)
                    state["next"] = other
                    turn.notify_all()
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
            with turn:
                state["next"] = other
                turn.notify_all()

    threads = [threading.Thread(target=worker, args=("a", frames_a, "b")),
               threading.Thread(target=worker, args=("b", frames_b, "a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results["a"], results["b"]


def _run_alone(step, first_state, frames):
    s, out = first_state(), []
    for frame in frames:
        o, s = step(frame, s)
        out.append(o)
    return out


def test_tsm_backbone_two_threads_keep_their_own_caches(one_torch_thread):
    """The online shift's caches travel with the call, never in the modules: threads cannot mix them."""
    import tsmdet.models  # noqa: F401
    from tsmdet.models.backbones import TSMResNet

    torch.manual_seed(0)
    net = TSMResNet(depth=18, base_channels=8, num_segments=4, shift_direction="past", out_indices=(3,)).eval()
    g = torch.Generator().manual_seed(1)
    frames_a = [torch.rand(1, 3, 32, 32, generator=g) for _ in range(5)]
    frames_b = [torch.rand(1, 3, 32, 32, generator=g) for _ in range(5)]

    def step(frame, state):
        with torch.no_grad():
            feats, new = net(frame, state)
        return feats[-1], new

    def first():
        return net.init_state(1, 32, 32)

    alone_a, alone_b = _run_alone(step, first, frames_a), _run_alone(step, first, frames_b)
    both_a, both_b = _run_interleaved(step, first, frames_a, frames_b)
    for x, y in zip(alone_a + alone_b, both_a + both_b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    # and the caches matter: stream a's later frames differ from a fresh start on the same frame
    assert not torch.equal(step(frames_a[3], first())[0], alone_a[3])


@pytest.fixture(scope="module")
def toy_onnx(tmp_path_factory):
    from toy_detector import export_toy

    return export_toy(tmp_path_factory.mktemp("toy_threads") / "toy.onnx", dynamic_batch=True)


@pytest.mark.parametrize("kind", ["torch", "onnx"])
def test_engine_two_threads_interleaved_give_single_stream_results(kind, toy_onnx, one_torch_thread):
    from toy_detector import INPUT_H, INPUT_W, ToyOnlineDetector, random_frames, toy_meta

    from tsmdet.runtime import create_engine

    if kind == "torch":
        engine = create_engine("torch", ToyOnlineDetector(), meta=toy_meta(batch_size=-1))
    else:
        engine = create_engine("onnx", toy_onnx, intra_op_threads=1)
    frames_a = random_frames(8, (INPUT_W * 2, INPUT_H * 2), seed=3)
    frames_b = random_frames(8, (INPUT_W * 2, INPUT_H * 2), seed=4)

    def step(frame, state):
        results, states = engine.run([frame], [state])
        return results[0], states[0]

    alone_a = _run_alone(step, engine.new_state, frames_a)
    alone_b = _run_alone(step, engine.new_state, frames_b)
    both_a, both_b = _run_interleaved(step, engine.new_state, frames_a, frames_b)
    for x, y in zip(alone_a + alone_b, both_a + both_b):
        np.testing.assert_array_equal(x.boxes, y.boxes)
        np.testing.assert_array_equal(x.scores, y.scores)
        np.testing.assert_array_equal(x.labels, y.labels)
    engine.close()


def test_engine_slots_from_two_threads_give_single_stream_results(toy_onnx, one_torch_thread):
    """The slot API (``infer(frames, streams)``) is the same values kept per slot: two threads, two slots."""
    from toy_detector import INPUT_H, INPUT_W, random_frames

    from tsmdet.runtime import create_engine

    engine = create_engine("onnx", toy_onnx, num_streams=2, intra_op_threads=1)
    frames_a = random_frames(6, (INPUT_W, INPUT_H), seed=5)
    frames_b = random_frames(6, (INPUT_W, INPUT_H), seed=6)
    alone = {}
    for slot, frames in ((0, frames_a), (1, frames_b)):
        engine.reset()
        alone[slot] = [engine.infer([f], [slot])[0] for f in frames]
    engine.reset()
    both_a, both_b = _run_interleaved(lambda f, slot: (engine.infer([f], [slot])[0], slot),
                                      iter((0, 1)).__next__, frames_a, frames_b)
    for x, y in zip(alone[0] + alone[1], both_a + both_b):
        np.testing.assert_array_equal(x.scores, y.scores)
        np.testing.assert_array_equal(x.boxes, y.boxes)
