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


# --- The knowledge-graph stage: one store built by the real pipeline, shared by the session -------
# These imports sit here, below the parse-stage fixtures above, so that those lines stay as they were.
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from pyoxigraph import BlankNode, RdfFormat, serialize  # noqa: E402

from kgbuild.handoffs import BuildReport  # noqa: E402
from kgbuild.iris import Iris  # noqa: E402
from kgbuild.pipeline import build  # noqa: E402
from kgbuild.sources import default_sources  # noqa: E402
from kgbuild.store import open_read_only  # noqa: E402

BASE_IRI = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class BundledBuild:
    """The bundled corpus built into ``store`` by ``kgbuild.pipeline.build``, and what the build reported."""

    store: Path
    report: BuildReport
    iris: Iris


@pytest.fixture(scope="session")
def bundled_build(tmp_path_factory: pytest.TempPathFactory) -> BundledBuild:
    """Built once per session. Read it; to write, work on a copy (:func:`copy_store`)."""
    iris = Iris(BASE_IRI)
    store = tmp_path_factory.mktemp("bundled-build") / "kgstore"
    report = build(default_sources(), store, iris)
    assert report.ok, report.failures
    return BundledBuild(store, report, iris)


# What a server writes beside a store while it runs: its dumps, staged, swapped in, and kept hidden.
_SERVER_DUMPS = shutil.ignore_patterns("dumps-*", ".dumps-*")


def copy_store(store: Path, target: Path) -> Path:
    """A private copy of a store directory (every generation, ``CURRENT``), for a test that builds on it.

    The dumps a server made beside it are left out: a server over the shared store may still be writing
    them, and a staging directory that vanished during the copy failed it now and then.
    """
    shutil.copytree(store, target, ignore=_SERVER_DUMPS)
    return target


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Ask a server a test started to stop (SIGTERM); kill it if it has not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def canonical(store_dir: Path) -> tuple[list[str], list[str]]:
    """A store's quads (personal data included) as sorted N-Quads lines: those without blank nodes, and
    those with them, their labels left out (blank nodes, only in the ontology, get fresh labels per store).
    Two builds of the same sources compare equal."""
    named, blank = [], []
    for quad in open_read_only(store_dir, True):
        (blank if isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode) else named).append(quad)
    lines = (serialize(named, format=RdfFormat.N_QUADS) or b"").decode().splitlines()
    return sorted(lines), sorted(re.sub(r"_:[A-Za-z0-9]+", "_:b", str(q)) for q in blank)
