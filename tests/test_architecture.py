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
