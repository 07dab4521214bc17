"""The public API: every module says what it offers (``__all__``), and offers what it says.

A name in ``__all__`` that the module does not define is an ``AttributeError`` waiting for the first
``from kgbuild.x import *``; a module without ``__all__`` leaves its public API to guesswork. The package
ships ``py.typed`` so that type checkers read its annotations.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import kgbuild

# (``kgbuild.__main__`` runs the command when imported: it offers nothing else)
MODULES = sorted(info.name for info in pkgutil.walk_packages(kgbuild.__path__, "kgbuild.")
                 if not info.name.endswith("__main__"))


def test_every_module_was_found() -> None:
    expected = {"kgbuild.cli", "kgbuild.extract.engine", "kgbuild.server.app", "kgbuild.shacl_sparql.runner"}
    assert expected <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_a_module_declares_its_public_names_and_defines_them(name: str) -> None:
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert isinstance(declared, list | tuple), f"{name} has no __all__"
    missing = [n for n in declared if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    assert len(set(declared)) == len(declared), f"{name}.__all__ names something twice"


def test_the_package_is_typed() -> None:
    assert (Path(kgbuild.__file__).parent / "py.typed").is_file()
