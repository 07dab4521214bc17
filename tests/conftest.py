"""Shared fixtures. Everything here is real: real files, real store, real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sources"
GOLDEN = ROOT / "tests" / "golden"
# Set KGBUILD_REGEN_GOLDEN=1 to rewrite golden files from the current output (then review the diff).
REGEN_GOLDEN = os.environ.get("KGBUILD_REGEN_GOLDEN") == "1"


@pytest.fixture(scope="session")
def source_files() -> list[Path]:
    return sorted(SOURCES.glob("*.txt"))
