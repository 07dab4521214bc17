"""Robustness tests (issue 6): hostile input, faults and load, each bounded in time.

Hypothesis profiles, chosen by ``KGBUILD_HYPOTHESIS`` (default: ``ci`` when ``KGBUILD_CI`` is set,
else ``dev``):

- ``dev``: new random examples every run; a failure is remembered in ``.hypothesis/`` and replayed.
- ``ci``: the same examples every run (derandomized): CI cannot fail by the luck of the draw, and a
  failure it reports is reproducible with the same command.
- ``deep``: twenty times as many examples, for a long hunt (``KGBUILD_HYPOTHESIS=deep scripts/test
  tests/robustness``).

Each test states its own ``max_examples``; the profile multiplies it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from benchmarks.corpus import generate
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from tests.conftest import BASE_IRI, BundledBuild

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("deep", **_COMMON)
PROFILE = os.environ.get("KGBUILD_HYPOTHESIS") or ("ci" if os.environ.get("KGBUILD_CI") else "dev")
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """``count`` examples, or twenty times as many under the ``deep`` profile."""
    return count * 20 if PROFILE == "deep" else count


@pytest.fixture(scope="session")
def bundled_store(bundled_build: BundledBuild) -> Path:
    """The bundled corpus built once per session by the real pipeline (read it; copy it to write)."""
    return bundled_build.store


@dataclass(frozen=True)
class Generated:
    """A generated corpus (``benchmarks.corpus``) and the store the real pipeline built from it."""

    sources: Path  # a directory of *.txt
    store: Path  # do not write to it: copy it first


GENERATED_DOCUMENTS = 100


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """About a hundred generated documents in all three formats, built once per session."""
    root = tmp_path_factory.mktemp("generated")
    paths = generate(GENERATED_DOCUMENTS, root / "sources", seed=5)
    store = root / "kgstore"
    report = build(paths, store, Iris(BASE_IRI))
    assert report.ok, report.failures
    return Generated(root / "sources", store)
