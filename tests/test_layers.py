"""The layers of docs/architecture.md, read off the source: no import cycle, nothing imported upwards.

Imports inside functions count; imports under ``if TYPE_CHECKING:`` do not.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gpunet"

#: What each lower layer may import of gpunet (besides itself); anything else is an upward import.
ALLOWED = {
    "gpunet.backend": ("gpunet.errors",),
    "gpunet.model": ("gpunet.errors", "gpunet.limits"),
    "gpunet.io": ("gpunet.errors", "gpunet.limits", "gpunet.backend", "gpunet.version"),
    "gpunet.codegen": ("gpunet.errors", "gpunet.limits", "gpunet.backend", "gpunet.model", "gpunet.version"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped = {id(node) for branch in ast.walk(tree) if isinstance(branch, ast.If)
               and "TYPE_CHECKING" in ast.unparse(branch.test) for node in ast.walk(branch)}
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return {name for name in found if name == "gpunet" or name.startswith("gpunet.")}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = {target for target in _imports(path) if target in modules and target != name}
        if path.name == "__init__.py":  # a package's __init__ re-exporting its own modules is no cycle
            targets = {target for target in targets if not target.startswith(name + ".")}
        edges[name] = targets
    return edges


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as a list of modules, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle(graph):
    assert _cycle(graph) == []


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_nothing_above_them(graph, layer):
    upward = sorted(f"{module} imports {target}" for module, targets in graph.items()
                    if module == layer or module.startswith(layer + ".")
                    for target in targets
                    if not target.startswith(layer) and not target.startswith(ALLOWED[layer]))
    assert upward == []


#: io's own layers (docs/architecture.md, "io, by role"), lowest first; the entry points are the rest of gpunet.io.
IO_LAYERS = ("gpunet.io.storage", "gpunet.io.pipeline", "gpunet.io.formats")


def _io_layer(module: str) -> int:
    return next((i for i, layer in enumerate(IO_LAYERS) if module == layer or module.startswith(layer + ".")),
                len(IO_LAYERS))


def test_io_layers_import_nothing_above_them(graph):
    """storage imports no other io module, pipeline only storage, formats no entry point."""
    upward = sorted(f"{module} imports {target}" for module, targets in graph.items()
                    if module.startswith("gpunet.io.") for target in targets
                    if target.startswith("gpunet.io") and _io_layer(target) > _io_layer(module))
    assert upward == []
    assert _io_layer("gpunet.io.formats.pickled.unpickler") == 2 and _io_layer("gpunet.io.api") == 3


#: Modules that still read private attributes of network objects, and how many reads. The count may only go down.
PRIVATE_READS_LEFT: dict[str, int] = {}
#: Private names of other libraries that io uses (NumPy's array rebuilder, the pure-Python pickler, os/sys).
LIBRARY_PRIVATES = {"_reconstruct", "_Pickler", "_exit", "_getframe"}


def _defined_private_names(folder: Path) -> set[str]:
    """``_x`` names the modules of ``folder`` define: ``self._x = ...``, ``def _x``, ``class _x``."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id == "self"):
                names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_") \
                    and not node.name.startswith("__"):
                names.add(node.name)
    return names


def _private_accesses(path: Path) -> list[str]:
    """Every ``obj._x`` (read or write) in ``path`` whose ``obj`` is not ``self`` or ``cls``."""
    return [node.attr for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))]


def _private_reads() -> dict[str, int]:
    """Per module outside gpunet/network: reads of ``obj._x`` where network objects define ``self._x``."""
    owned = set()
    for path in (PACKAGE / "network").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id == "self"):
                owned.add(node.attr)
    reads: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        if "network" in path.relative_to(PACKAGE).parts[:1]:
            continue
        count = sum(1 for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.Attribute) and node.attr in owned
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")))
        if count:
            reads[_module_name(path)] = count
    return reads


def test_no_new_private_access_into_network_objects():
    reads = _private_reads()
    grown = {module: (count, PRIVATE_READS_LEFT.get(module, 0)) for module, count in reads.items()
             if count > PRIVATE_READS_LEFT.get(module, 0)}
    assert grown == {}, "module: (reads, allowed); use the objects' public methods (state_dict, load_state_dict)"


def test_io_touches_no_private_attribute_of_another_layer():
    """io reads and writes only public attributes of network objects (the state protocol), and keeps its own."""
    network_names = _defined_private_names(PACKAGE / "network")
    io_names = _defined_private_names(PACKAGE / "io")
    found = {}
    for path in (PACKAGE / "io").rglob("*.py"):
        foreign = sorted({name for name in _private_accesses(path)
                          if name in network_names or (name not in io_names and name not in LIBRARY_PRIVATES)})
        if foreign:
            found[_module_name(path)] = foreign
    assert found == {}


def test_the_private_access_scan_sees_reads_and_writes(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(net, pop):\n    net._step = 3\n    return pop._history, self_like._x\n")
    assert sorted(_private_accesses(module)) == ["_history", "_step", "_x"]
