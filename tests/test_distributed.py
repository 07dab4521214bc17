"""The distributed build: on a real Dask ``LocalCluster`` (two worker processes), the same store and
the same report as the local build, and a clear error when the cluster cannot be used.

The sources are given by paths relative to a directory the workers do not run in, so a worker that
tried to read a path instead of receiving the bytes would fail the comparison.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from benchmarks.corpus import generate
from kgbuild.errors import KgbuildError
from kgbuild.executors import DaskExecutor, open_executor
from kgbuild.handoffs import BuildReport
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.prepare import prepare_sources, static_graphs
from kgbuild.sources import default_sources
from kgbuild.validate_stage import validate_prepared
from tests.conftest import BASE_IRI, ROOT, canonical

distributed = pytest.importorskip("distributed")

IRIS = Iris(BASE_IRI)
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
GENERATED = 300
NOT_A_PROJECT_PAGE = "Hej!\nDet här är ingen projektsida.\n"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A Dask cluster of two single-threaded worker processes; its address as an executor spec."""
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                                  host="127.0.0.1") as cluster:
        yield "dask://" + cluster.scheduler_address.removeprefix("tcp://")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus, generated documents, one text of no known format and one with a violation."""
    root = tmp_path_factory.mktemp("distributed")
    sources = root / "sources"
    generate(GENERATED, sources)
    for path in default_sources():
        (sources / path.name).write_bytes(path.read_bytes())
    (sources / "zz-not-a-project.txt").write_text(NOT_A_PROJECT_PAGE, encoding="utf-8")
    sia = next(p for p in default_sources() if "SIA" in p.read_text(encoding="utf-8"))
    ended = sia.read_text(encoding="utf-8").replace("22-005-S01", "22-005-V01")
    (sources / "zz-ends-before-it-starts.txt").write_text(
        ended.replace("Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31"), encoding="utf-8")
    return root


def relative_sources(root: Path) -> list[Path]:
    """The corpus as paths relative to ``root`` (the test's working directory), and one missing file."""
    return sorted(p.relative_to(root) for p in (root / "sources").glob("*.txt")) + [Path("sources/missing.txt")]


def comparable(report: BuildReport) -> tuple[object, ...]:
    return (report.sources, report.replaced, report.unchanged, report.removed, report.failures, report.warnings,
            report.validation.findings, report.quads)


@pytest.fixture(scope="module")
def builds(scheduler: str, corpus: Path) -> Iterator[tuple[BuildReport, BuildReport]]:
    """The same corpus built locally and on the cluster, into two stores."""
    cwd = Path.cwd()
    os.chdir(corpus)
    try:
        paths = relative_sources(corpus)
        local = build(paths, corpus / "local", IRIS, now=NOW, workers=2)
        remote = build(paths, corpus / "dask", IRIS, now=NOW, executor=scheduler)
    finally:
        os.chdir(cwd)
    yield local, remote


def test_the_cluster_builds_the_same_store(builds: tuple[BuildReport, BuildReport], corpus: Path) -> None:
    local, remote = builds
    assert len(local.replaced) == GENERATED + len(default_sources()) > 0
    ours, theirs = canonical(corpus / "local"), canonical(corpus / "dask")
    missing, extra = sorted(set(ours[0]) - set(theirs[0])), sorted(set(theirs[0]) - set(ours[0]))
    assert not missing and not extra, (missing[:5], extra[:5])
    assert ours == theirs


def test_the_cluster_reports_the_same_failures_warnings_and_findings(
        builds: tuple[BuildReport, BuildReport]) -> None:
    local, remote = builds
    assert comparable(remote) == comparable(local)
    assert {f.source for f in local.failures} == {"sources/zz-not-a-project.txt", "zz-ends-before-it-starts.txt",
                                                  "sources/missing.txt"}
    assert local.validation.violations and local.validation.warnings


def test_a_build_on_the_cluster_over_a_local_store_changes_nothing(
        builds: tuple[BuildReport, BuildReport], scheduler: str, corpus: Path) -> None:
    local, _ = builds
    cwd = Path.cwd()
    os.chdir(corpus)
    try:
        again = build(relative_sources(corpus), corpus / "local", IRIS, executor=scheduler)
    finally:
        os.chdir(cwd)
    assert again.replaced == [] and sorted(again.unchanged) == sorted(local.replaced)
    assert again.generation == local.generation


def test_the_executor_keeps_the_order_of_the_jobs(scheduler: str) -> None:
    with open_executor(scheduler) as executor:
        assert isinstance(executor, DaskExecutor)
        assert executor.map(divmod, range(1000), 7, count=1000) == [divmod(n, 7) for n in range(1000)]
        assert executor.map(divmod, [], 7, count=0) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_scheduler_is_an_error_naming_its_address() -> None:
    port = _closed_port()
    with pytest.raises(KgbuildError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        DaskExecutor(f"dask://127.0.0.1:{port}", timeout=1)


def test_the_command_says_so_in_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}
    env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "1s"
    run = subprocess.run([sys.executable, "-m", "kgbuild.cli", "build", "--store", str(tmp_path / "kgstore"),
                          "--executor", f"dask://127.0.0.1:{port}"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        f"error: executor dask://127.0.0.1:{port}: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} "
        "within 1 s (OSError)"]
    assert not (tmp_path / "kgstore").exists()


@pytest.mark.parametrize("spec", ["dask://", "dask://host", "tcp://host:8786", "dask://host:99999", "lokal"])
def test_a_malformed_executor_is_refused(spec: str) -> None:
    with pytest.raises(KgbuildError, match="expected 'local' or 'dask://HOST:PORT'"):
        open_executor(spec)


def test_validation_leaves_no_result_iterator_for_another_thread_to_drop() -> None:
    """A Dask worker samples the stack frames of its task threads from its event loop; a frame it
    keeps must not hold a pyoxigraph result iterator, which only the thread that made it may drop."""
    prepared, _, _ = prepare_sources(default_sources(), IRIS, workers=1)
    reference = static_graphs(IRIS)[IRIS.reference_graph].quads
    frames: list[FrameType] = []

    def keep(frame: FrameType, event: str, _: object) -> None:
        if event == "call":
            frames.append(frame)

    threading.setprofile(keep)  # the threads the checks run in
    sys.setprofile(keep)
    try:
        validate_prepared(prepared, reference)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def drop() -> None:
        while frames:
            try:
                frames.pop()
            except RuntimeError as exc:
                errors.append(exc)

    dropper = threading.Thread(target=drop)
    dropper.start()
    dropper.join()
    assert errors == []
