"""Where kgbuild's data files are: at the repository root in a checkout, inside the wheel when installed."""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_path", "ontology_path", "shapes_path", "queries_path", "root"]

_PACKAGED = Path(__file__).parent / "_data"


def root() -> Path:
    """The folder that holds ontology/, shapes/, queries/ and data/."""
    return _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2]


def data_path(*parts: str) -> Path:
    return root().joinpath("data", *parts)


def ontology_path(*parts: str) -> Path:
    return root().joinpath("ontology", *parts)


def shapes_path(*parts: str) -> Path:
    return root().joinpath("shapes", *parts)


def queries_path(*parts: str) -> Path:
    return root().joinpath("queries", *parts)
