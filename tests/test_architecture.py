"""The dependency rules stated in ``kgbuild/__init__.py``, checked on the imports of every module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
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


def _opens_a_store(tree: ast.AST) -> list[int]:
    """Lines that call pyoxigraph's ``Store`` or one of its constructors (``Store(...)``, ``Store.read_only``,
    ``pyoxigraph.Store(...)``): read from the syntax tree, not the text."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "Store") or \
                    (isinstance(func, ast.Attribute) and func.attr == "Store") or \
                    (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "Store"):
                lines.append(node.lineno)
    return lines


def test_the_store_rule_sees_every_way_to_open_one() -> None:
    planted = "Store()\nStore.read_only('x')\npyoxigraph.Store('y')\nstore.query('z')\n"
    assert _opens_a_store(ast.parse(planted)) == [1, 2, 3]


def test_only_the_store_module_opens_a_store() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = _opens_a_store(ast.parse(path.read_text(encoding="utf-8")))
        assert not lines or path.stem == "store", f"{path.relative_to(PACKAGE)}:{lines} opens a pyoxigraph Store"


def test_server_never_imports_the_parsers_nor_the_mapping_stage() -> None:
    """Lazy imports (inside functions) included: the import graph read from each module's syntax tree."""
    stages = ("kgbuild.parsers", "kgbuild.extract", "kgbuild.inputs", "kgbuild.mapping")
    for path in _modules("server"):
        assert not any(name.startswith(stages) for name in _imports(path)), path.name


def test_importing_the_server_loads_no_reading_or_mapping_stage() -> None:
    """What actually loads, transitively (``Iris`` lives in ``kgbuild.iris`` for this)."""
    import subprocess
    import sys

    code = ("import sys, kgbuild.server.app; print(sorted(m for m in sys.modules if m.startswith("
            "('kgbuild.parsers', 'kgbuild.extract', 'kgbuild.inputs', 'kgbuild.mapping'))))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout


def test_the_validation_engine_and_stage_import_neither_rdflib_nor_pyshacl() -> None:
    """pyshacl is the test oracle only (kgbuild.validation.validate_quads imports it when called)."""
    import subprocess
    import sys

    for module in ("kgbuild.shacl_sparql", "kgbuild.validation", "kgbuild.report", "kgbuild.validate_stage",
                   "kgbuild.pipeline"):
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
# Only the two implementations and the chooser may branch: ``embedded_store.py`` (EmbeddedStore),
# ``remote_store.py`` (RemoteStore) and ``stores.py`` (``open_store``, ``store_at``). The interface
# (``store.py``) and the kind-specific machinery (``remote.py``, ``remote_build.py``,
# ``server/remote_pool.py``, ``server/workers.py``) have no branch of this kind either.
KIND_NAMES = {"Remote", "RemoteStore", "EmbeddedStore", "StoreDirectory", "RemotePool", "WorkerPool",
              "RemoteGeneration", "CurrentGeneration", "PathLike"}
MAY_BRANCH_ON_KIND = {"embedded_store.py", "remote_store.py", "stores.py"}


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


# --- the import graph (issue 22.3) ---------------------------------------------------------------------
# Every ``import`` and ``from ... import`` in every module of the package, wherever it stands: at the top,
# inside a function (a lazy import is a dependency all the same, only later) or under ``TYPE_CHECKING``.
# Type-only imports count: the importing module still cannot be read, nor type-checked, without the other,
# and since the hand-off types live in ``kgbuild.handoffs`` (below every stage) none of them needs to
# point upward. ``from kgbuild.x import y`` where ``kgbuild.x.y`` is a module imports that module.


@dataclass(frozen=True)
class Import:
    importer: str
    module: str  # the kgbuild module imported
    name: str | None  # the name it is asked for (``from module import name``); None for a whole module
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_sources() -> dict[str, tuple[str, bool]]:
    """Each module of the package: its name → (its source, whether it is a package's ``__init__``)."""
    return {_module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
            for path in sorted(PACKAGE.rglob("*.py"))}


def kgbuild_imports(sources: dict[str, tuple[str, bool]]) -> list[Import]:
    """Every import of one kgbuild module by another, read from the syntax trees (relative ones resolved)."""
    found = []
    for importer, (source, is_package) in sources.items():
        here = importer.split(".") if is_package else importer.split(".")[:-1]
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found += [Import(importer, alias.name, None, node.lineno) for alias in node.names
                          if alias.name in sources]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]) if node.level else \
                    node.module or ""
                base = base.rstrip(".")
                for alias in node.names:
                    if f"{base}.{alias.name}" in sources:
                        found.append(Import(importer, f"{base}.{alias.name}", None, node.lineno))
                    elif base in sources:
                        found.append(Import(importer, base, alias.name, node.lineno))
    return [i for i in found if i.module != i.importer]


def import_cycles(imports: list[Import]) -> list[set[str]]:
    """The strongly connected sets of modules (two or more that import each other, at any distance)."""
    edges: dict[str, set[str]] = {}
    for i in imports:
        edges.setdefault(i.importer, set()).add(i.module)
        edges.setdefault(i.module, set())
    reach = {name: _reachable(name, edges) for name in edges}
    cycles: list[set[str]] = []
    for name in sorted(edges):
        together = {other for other in reach[name] if name in reach[other]} | {name}
        if len(together) > 1 and together not in cycles:
            cycles.append(together)
    return cycles


def _reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(edges[name])
    return seen


# The build's stages in pipeline order, each importing only from its own layer or those before it.
# Modules not listed are the stages' tools (the stores, the validation engine, the executors, the
# server, ...): they may use the first stages' records and mapping, never a stage after them.
STAGES: list[tuple[str, ...]] = [
    # what the stages hand each other and what the build graph records of them
    ("kgbuild.records", "kgbuild.reference", "kgbuild.iris", "kgbuild.handoffs", "kgbuild.provenance"),
    ("kgbuild.parsers",),  # a source's bytes → records
    ("kgbuild.sources",),  # files found, read and parsed
    ("kgbuild.mapping",),  # records → quads
    ("kgbuild.duplicates",),  # projects several sources state
    ("kgbuild.prepare",),  # parsed sources → PreparedSource (mapped, hashed), the static graphs
    ("kgbuild.validate_stage",),  # the validation engine on prepared sources or a store; refusals
    ("kgbuild.plan",),  # what a build changes, from what the store records
    ("kgbuild.load",),  # the changes written into the store
    ("kgbuild.pipeline",),  # composes the stages
    ("kgbuild.cli", "kgbuild.__main__"),
]
TOOLS_USE_STAGES_UP_TO = "kgbuild.mapping"


def layering_violations(imports: list[Import], stages: list[tuple[str, ...]], tools_up_to: str) -> list[str]:
    layer = {name: index for index, names in enumerate(stages) for name in names}
    violations = []
    for i in imports:
        if i.module not in layer:
            continue
        if i.importer in layer and layer[i.importer] < layer[i.module]:
            violations.append(f"{i.importer}:{i.line} imports {i.module}, a later stage")
        elif i.importer not in layer and layer[i.module] > layer[tools_up_to]:
            violations.append(f"{i.importer}:{i.line} imports the stage {i.module}: the stages use the tools, "
                              "not the other way round")
    return violations


def private_imports(imports: list[Import]) -> list[str]:
    """``from kgbuild.x import _name``: a name another module keeps to itself (dunders such as
    ``__version__`` are public)."""
    return [f"{i.importer}:{i.line} imports {i.module}.{i.name}" for i in imports
            if i.name and i.name.startswith("_") and not i.name.startswith("__")]


def test_the_import_graph_is_read_from_every_kind_of_import() -> None:
    planted = {
        "kgbuild": ("", True),
        "kgbuild.low": ("def _hidden(): pass\n", False),
        "kgbuild.pkg": ("from . import mod\n", True),
        "kgbuild.pkg.mod": ("from ..low import _hidden\nfrom kgbuild.pkg import other\n", False),
        "kgbuild.pkg.other": ("def f():\n    import kgbuild.high\n", False),
        "kgbuild.high": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kgbuild.pkg.mod import x\n",
                         False),
    }
    found = {(i.importer, i.module, i.name) for i in kgbuild_imports(planted)}
    assert found == {("kgbuild.pkg", "kgbuild.pkg.mod", None), ("kgbuild.pkg.mod", "kgbuild.low", "_hidden"),
                     ("kgbuild.pkg.mod", "kgbuild.pkg.other", None), ("kgbuild.pkg.other", "kgbuild.high", None),
                     ("kgbuild.high", "kgbuild.pkg.mod", "x")}


def test_each_import_rule_can_fail() -> None:
    planted = {
        "kgbuild": ("", True),
        "kgbuild.records": ("", False),
        "kgbuild.mapping": ("from kgbuild.records import _raw\n", False),
        "kgbuild.load": ("", False),
        "kgbuild.store": ("def later():\n    from kgbuild.load import write\n", False),
        "kgbuild.pipeline": ("import kgbuild.store\n", False),
        "kgbuild.records_more": ("from kgbuild.pipeline import build\n", False),
    }
    stages = [("kgbuild.records", "kgbuild.records_more"), ("kgbuild.mapping",), ("kgbuild.load",),
              ("kgbuild.pipeline",)]
    imports = kgbuild_imports(planted)
    assert private_imports(imports) == ["kgbuild.mapping:1 imports kgbuild.records._raw"]
    assert layering_violations(imports, stages, "kgbuild.mapping") == [
        "kgbuild.store:2 imports the stage kgbuild.load: the stages use the tools, not the other way round",
        "kgbuild.records_more:1 imports kgbuild.pipeline, a later stage"]
    planted["kgbuild.load"] = ("from kgbuild.pipeline import build\n", False)
    assert import_cycles(kgbuild_imports(planted)) == [{"kgbuild.load", "kgbuild.pipeline", "kgbuild.store"}]


def test_the_stages_import_only_earlier_stages_and_the_tools_no_stage_after_mapping() -> None:
    sources = package_sources()
    assert {name for names in STAGES for name in names} <= set(sources)
    assert layering_violations(kgbuild_imports(sources), STAGES, TOOLS_USE_STAGES_UP_TO) == []


def test_no_import_cycle() -> None:
    """None at all (issue 22): the store interface (``store``) is below its implementations
    (``embedded_store``, ``remote_store``), and the chooser (``stores``) above them."""
    assert import_cycles(kgbuild_imports(package_sources())) == []


def test_no_module_imports_another_modules_private_name() -> None:
    assert private_imports(kgbuild_imports(package_sources())) == []


def readme_module_map(readme: str) -> set[str]:
    """The modules and packages the README's module map names (``  name.py`` or ``  name/`` lines of the code
    block under "How it fits together")."""
    section = readme.split("## How it fits together", 1)[1]
    block = section.split("```", 2)[1]
    return {match[1] for match in re.finditer(r"^  (\w+)(?:\.py|/) ", block, re.M)}


def test_the_readme_module_map_names_every_module_and_only_those() -> None:
    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    named = readme_module_map(readme)
    there = {path.stem for path in PACKAGE.glob("*.py") if path.stem not in ("__init__", "__main__")} | \
        {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert named == there, f"README names {sorted(named - there)} (not there), misses {sorted(there - named)}"


def test_the_module_map_rule_reads_files_and_packages() -> None:
    planted = "## How it fits together\n\n```\nsrc/kgbuild/\n  a.py      x\n  b/        y\n" \
              "                   z.py continued\n  validate_stage.py  z\n```\n  c.py outside\n"
    assert readme_module_map(planted) == {"a", "b", "validate_stage"}
