"""The dependency rules stated in ``kgbuild/__init__.py``, checked on the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import kgbuild

PACKAGE = Path(kgbuild.__file__).parent
RDF_LIBRARIES = {"rdflib", "pyshacl", "pyoxigraph"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(*relative: str) -> list[Path]:
    paths: list[Path] = []
    for name in relative:
        target = PACKAGE / name
        paths.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")])
    return [p for p in paths if p.exists()]


def test_parsing_imports_no_rdf_library() -> None:
    for path in _modules("parsers", "inputs", "normalise", "decoding", "records", "reference"):
        used = {name.split(".")[0] for name in _imports(path)}
        assert not used & RDF_LIBRARIES, f"{path.name} imports {used & RDF_LIBRARIES}"


def test_only_validation_imports_rdflib_and_pyshacl() -> None:
    for path in PACKAGE.rglob("*.py"):
        used = {name.split(".")[0] for name in _imports(path)}
        if used & {"rdflib", "pyshacl"}:
            assert path.stem == "validation", f"{path.relative_to(PACKAGE)} imports rdflib/pyshacl"


def test_only_the_store_module_opens_a_store() -> None:
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "Store(" in source and path.stem != "store":
            raise AssertionError(f"{path.relative_to(PACKAGE)} opens a pyoxigraph Store; only store.py may")


def test_server_never_imports_the_parsers() -> None:
    for path in _modules("server"):
        assert not any(name.startswith("kgbuild.parsers") for name in _imports(path)), path.name


def test_the_validation_engine_and_stage_import_neither_rdflib_nor_pyshacl() -> None:
    """pyshacl is the test oracle only (kgbuild.validation.validate_quads imports it when called)."""
    import subprocess
    import sys

    for module in ("kgbuild.shacl_sparql", "kgbuild.validation", "kgbuild.report", "kgbuild.pipeline"):
        run = subprocess.run([sys.executable, "-c", f"import {module}, sys; "
                              "print('rdflib' in sys.modules, 'pyshacl' in sys.modules)"],
                             capture_output=True, text=True, check=True)
        assert run.stdout.split() == ["False", "False"], (module, run.stdout, run.stderr)


def test_shacl_sparql_modules_use_only_each_others_public_names_without_a_cycle() -> None:
    """Each module of kgbuild.shacl_sparql imports only names in another's ``__all__``, and the modules'
    imports (type-checking ones included) form no cycle."""
    package = PACKAGE / "shacl_sparql"
    modules = {path.stem: path for path in package.glob("*.py") if path.stem != "__init__"}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kgbuild.shacl_sparql."):
                other = node.module.rsplit(".", 1)[1]  # type: ignore[union-attr]
                edges[name].add(other)
                exported = set(__import__(node.module, fromlist=["__all__"]).__all__)  # type: ignore[arg-type]
                for alias in node.names:
                    assert alias.name in exported, f"{name} imports {alias.name} from {other}: not in its __all__"
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, f"import cycle: {' -> '.join((*trail, name))}"
        if name not in done:
            for other in edges[name]:
                visit(other, (*trail, name))
            done.add(name)

    for name in edges:
        visit(name, ())


# --- one store interface (issue 22.1) ------------------------------------------------------------------
# Callers hold a ``kgbuild.store.GraphStore`` and never ask which kind it is. A *kind branch* is
#   - an ``isinstance`` whose type (or one of the types of a tuple or ``|`` union) names a kind of store
#     or of query backend: one of KIND_NAMES (``os.PathLike`` included: "is it a directory?"), or
#   - reading ``settings.remote`` (``<anything>.settings.remote`` too): the one property saying which kind.
# Only the two implementations and the chooser may branch: ``store.py`` (EmbeddedStore, ``open_store``,
# ``store_at``) and ``remote_store.py`` (RemoteStore). The kind-specific machinery they use (``remote.py``,
# ``remote_build.py``, ``server/remote_pool.py``, ``server/workers.py``) has no branch of this kind either.
KIND_NAMES = {"Remote", "RemoteStore", "EmbeddedStore", "StoreDirectory", "RemotePool", "WorkerPool",
              "RemoteGeneration", "CurrentGeneration", "PathLike"}
MAY_BRANCH_ON_KIND = {"store.py", "remote_store.py"}


def _type_names(node: ast.expr) -> set[str]:
    """The names a type expression of ``isinstance`` refers to (``a.B`` gives ``B``; tuples and unions split)."""
    if isinstance(node, ast.Tuple):
        return {name for element in node.elts for name in _type_names(element)}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _type_names(node.left) | _type_names(node.right)
    if isinstance(node, ast.Attribute):
        return {node.attr}
    if isinstance(node, ast.Name):
        return {node.id}
    return set()


def _is_settings(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "settings") or \
        (isinstance(node, ast.Attribute) and node.attr == "settings")


def kind_branches(source: str) -> list[str]:
    """Each kind branch in ``source``, as "line N: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance" \
                and len(node.args) == 2 and _type_names(node.args[1]) & KIND_NAMES:
            found.append(f"line {node.lineno}: isinstance on {sorted(_type_names(node.args[1]) & KIND_NAMES)}")
        elif isinstance(node, ast.Attribute) and node.attr == "remote" and _is_settings(node.value):
            found.append(f"line {node.lineno}: reads settings.remote")
    return found


def test_the_kind_branch_rule_finds_each_kind_of_branch() -> None:
    planted = (
        "if settings.remote:\n    pass\n"                          # 1
        "x = self.settings.remote\n"                               # 3
        "isinstance(target, Remote)\n"                             # 4
        "isinstance(target, str | os.PathLike)\n"                  # 5
        "isinstance(pool, (int, workers.WorkerPool))\n"            # 6
        "isinstance(target, str)\nrunner.remote\nstore.where(None)\n"  # none of these
    )
    assert [line.split(":")[0] for line in kind_branches(planted)] == \
        ["line 1", "line 3", "line 4", "line 5", "line 6"]


def test_no_module_but_the_store_implementations_and_the_chooser_branches_on_the_kind() -> None:
    branches = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix() in MAY_BRANCH_ON_KIND:
            continue
        found = kind_branches(path.read_text(encoding="utf-8"))
        if found:
            branches[path.relative_to(PACKAGE).as_posix()] = found
    assert branches == {}, f"branches on the store's kind outside {sorted(MAY_BRANCH_ON_KIND)}: {branches}"
