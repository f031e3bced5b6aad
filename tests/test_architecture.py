"""The pack's import rules, read with ``ast`` from the source files of birefnet/, nodes/ and training/ (nothing
is imported, no ComfyUI needed):

- no import cycle, and no module taking a name from one of its own ancestor packages (``from .. import x``
  where ``x`` is not a submodule, ``from ..pkg import x`` with ``pkg`` an ancestor): a package's
  ``__init__`` imports its children, never the other way round;
- no private name (``_x``) imported across packages: between two sub-packages of birefnet, or from birefnet
  into nodes or training;
- nodes and training use the library's public API only: ``from ..birefnet import X`` (nodes) and
  ``from birefnet import X`` (training), every ``X`` in ``birefnet.__all__``;
- birefnet imports nothing of ComfyUI, nor the pack's nodes or training;
- no module over MAX_LINES lines.

Module names are the paths from the repository root (``birefnet.video.pipeline``, ``nodes.cutout``,
``training.train``); the repository root is the pack, so ``from ..birefnet import X`` in ``nodes/cutout.py``
resolves to ``birefnet``. Imports inside functions count like the others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from testdata import REPO_ROOT

FOLDERS = ("birefnet", "nodes", "training")
MAX_LINES = 400
COMFY_MODULES = {"comfy", "comfy_api", "comfy_execution", "comfy_extras", "folder_paths", "server", "nodes"}


@dataclass(frozen=True)
class Import:
    """One imported module or name: ``target`` is the module it resolves to (a pack module when known)."""

    importer: str  # module name, e.g. "birefnet.video.pipeline"
    path: str  # file, relative to the repository root
    line: int
    statement: str  # the statement's first line, for messages
    source: str  # the module named in the statement, resolved to an absolute name ("" for the pack root)
    name: str | None  # the name taken from ``source`` (None for ``import a.b``)
    target: str  # ``source.name`` when that is a module of the pack, else ``source``
    level: int  # 0 for an absolute import


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Module name -> file, for every Python file of the three folders."""
    files = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[module_name(path, root)] = path
    return files


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = _package_of(module, path).split(".") if _package_of(module, path) else []
    base = parts[: len(parts) - (node.level - 1)] if node.level - 1 <= len(parts) else []
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path, modules: set[str], root: Path = REPO_ROOT) -> Iterator[Import]:
    """Every import in ``path`` (module level or inside functions), resolved against ``modules``."""
    text = path.read_text(encoding="utf-8")
    relative = path.relative_to(root).as_posix()
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        statement = lines[node.lineno - 1].strip()
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in modules and "." in target:
                    target = target.rpartition(".")[0]
                yield Import(module, relative, node.lineno, statement, alias.name, None, target, 0)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            source = _resolve(module, path, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}" if source else alias.name
                target = submodule if submodule in modules else source
                yield Import(module, relative, node.lineno, statement, source, alias.name, target, node.level)


def all_imports(root: Path = REPO_ROOT) -> list[Import]:
    files = source_files(root)
    return [imp for module, path in files.items() for imp in imports_of(module, path, set(files), root)]


def import_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def shortest_cycle(start: str, edges: dict[str, set[str]], within: set[str]) -> list[str]:
    """The shortest import path from ``start`` back to ``start`` through ``within`` (breadth first)."""
    came_from: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for successor in sorted(edges.get(node, ())):
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if successor in within and successor not in came_from:
                came_from[successor] = node
                queue.append(successor)
    raise AssertionError(f"{start} is on no cycle")


def _where(imp: Import) -> str:
    return f"{imp.path}:{imp.line}: {imp.statement}"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _top_package(module: str) -> str:
    """birefnet.<a>... -> "birefnet.<a>" (birefnet's own __init__ is "birefnet"); nodes/training as they are."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "birefnet" else parts[0]


def public_api() -> set[str]:
    """The names in ``birefnet.__all__``, read from birefnet/__init__.py."""
    tree = ast.parse((REPO_ROOT / "birefnet" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("birefnet/__init__.py has no __all__")


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


@pytest.fixture(scope="module")
def modules() -> set[str]:
    return set(source_files())


def test_the_sources_are_found(imports, modules):
    assert {"birefnet", "birefnet.video.pipeline", "nodes.cutout", "training"} <= modules
    assert any(imp.importer == "nodes.cutout" and imp.target == "birefnet" for imp in imports)


def test_no_import_cycle(imports, modules):
    edges: dict[str, set[str]] = {}
    first: dict[tuple[str, str], Import] = {}
    for imp in imports:
        if imp.target in modules and imp.target != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.target)
            first.setdefault((imp.importer, imp.target), imp)
    details = []
    for component in import_cycles(edges):
        path = shortest_cycle(component[0], edges, set(component))
        steps = [_where(first[step]) for step in zip(path, path[1:], strict=False)]
        details.append(" -> ".join(path) + "\n    " + "\n    ".join(steps))
        if len(component) > len(path) - 1:
            details[-1] += (
                f"\n    (one cycle of {len(component)} modules tied together: {', '.join(component)})"
            )
    assert not details, "import cycles:\n" + "\n".join(details)


def test_no_module_imports_from_its_parent_package(imports, modules):
    """A package's __init__ imports its children; a child never takes a name from an ancestor's __init__."""
    bad = [
        _where(imp) for imp in imports if imp.target in modules and imp.importer.startswith(imp.target + ".")
    ]
    assert not bad, "modules importing from their own parent package:\n" + "\n".join(bad)


def test_no_private_name_is_imported_across_packages(imports, modules):
    bad = []
    for imp in imports:
        crosses = _top_package(imp.importer) != _top_package(imp.target)
        if imp.source.split(".")[0] != "birefnet" or not crosses:
            continue
        inside = imp.target.split(".")[1:] if imp.target in modules else imp.source.split(".")[1:]
        names = [*inside, *([imp.name] if imp.name and imp.target != f"{imp.source}.{imp.name}" else [])]
        if any(_is_private(part) for part in names):
            bad.append(_where(imp))
    assert not bad, "private names imported across packages:\n" + "\n".join(bad)


def _api_violations(imports: list[Import], folder: str, exported: set[str]) -> list[tuple[str, str, str]]:
    """(file, imported module, message) for each import of the library by ``folder`` that is not the public API."""
    form = "from ..birefnet import X" if folder == "nodes" else "from birefnet import X"
    bad = []
    for imp in imports:
        of_the_library = imp.source.split(".")[0] == "birefnet" or imp.target == "birefnet"
        if imp.importer.split(".")[0] != folder or not of_the_library:
            continue
        relative_form = folder == "nodes" and imp.level > 0
        absolute_form = folder == "training" and imp.level == 0 and imp.name is not None
        if imp.source != "birefnet" or not (relative_form or absolute_form):
            bad.append((imp.path, imp.source, f"{_where(imp)}  (use {form})"))
        elif imp.name not in exported:
            bad.append((imp.path, imp.source, f"{_where(imp)}  ({imp.name!r} is not in birefnet.__all__)"))
    return bad


@pytest.mark.parametrize("folder", ["nodes", "training"])
def test_nodes_and_training_use_only_the_public_api(imports, folder):
    bad = [message for _, _, message in _api_violations(imports, folder, public_api())]
    assert not bad, f"{folder}/ imports the library other than through its public API:\n" + "\n".join(bad)


def test_the_library_imports_nothing_of_comfyui(imports):
    bad = [
        _where(imp)
        for imp in imports
        if imp.importer.split(".")[0] == "birefnet"
        and (
            (imp.level == 0 and imp.source.split(".")[0] in COMFY_MODULES | {"training"})
            or (imp.level > 0 and imp.target.split(".")[0] in {"nodes", "training"})
        )
    ]
    assert not bad, "birefnet/ imports ComfyUI or the pack's nodes/training:\n" + "\n".join(bad)


def _line_counts() -> dict[str, int]:
    return {
        path.relative_to(REPO_ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in source_files().values()
    }


def test_no_module_is_over_the_line_limit():
    long = {path: n for path, n in _line_counts().items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"
