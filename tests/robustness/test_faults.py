"""Faults: the build killed at random moments, the disk full, a file-size limit.

Each fault hits the real ``kgbuild build`` command in a subprocess. After each: the store's previous
generation still opens with its previous content (or, if the kill came after the atomic switch, the
new one whole: never anything in between), a user sees one clear line (never a traceback), and the
next build succeeds. A rebuild during a burst of queries is ``tests/server/test_rebuild.py``; a build
killed at the moment it writes is ``tests/test_store.py``; a dump requested while the store is switched
is ``test_rebuild_files.py`` here.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pyoxigraph import Quad

from benchmarks.corpus import generate
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.sources import default_sources
from kgbuild.store import StoreDirectory, open_read_only
from kgbuild.vocab import PROV
from tests.conftest import BASE_IRI, ROOT, copy_store
from tests.robustness.conftest import Generated
from tests.server.conftest import make_settings, running_server

KILLS = 5
CHANGED = 10
PROJECTS = "SELECT (COUNT(DISTINCT ?p) AS ?n) { ?p a <https://w3id.org/kgbuild/ontology#Project> }"


def content(store: Path) -> frozenset[Quad]:
    """What the store's current generation holds, less the build times (they differ from build to build)."""
    return frozenset(q for q in open_read_only(store) if q.predicate.value != PROV + "generatedAtTime")


def kgbuild(*args: str | Path, **options: object) -> subprocess.Popen[str]:
    """The installed command (``python -m kgbuild.cli``) in its own session, without the caller's KGBUILD_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}
    return subprocess.Popen([sys.executable, "-m", "kgbuild.cli", *map(str, args)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            **options)  # type: ignore[call-overload]


def finish(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    """Wait for ``process``; its exit code and what it said on stderr."""
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def one_clear_error(stderr: str) -> list[str]:
    """The error lines of a failed command, after checking there is no traceback."""
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors, stderr[-2000:]
    return errors


def changed_corpus(original: Path, target: Path) -> Path:
    """The corpus with one document gone and ``CHANGED`` others edited (each changes its graph)."""
    shutil.copytree(original, target)
    paths = sorted(target.glob("*.txt"))
    paths[0].unlink()
    for path in paths[1:CHANGED + 1]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.rstrip("\n") + "\n\nProjektet har reviderats efter en ny analys.\n", encoding="utf-8")
    return target


@dataclass
class Kill:
    moment: float  # seconds after the build started
    killed: bool  # False: the build finished first
    switched: bool  # the kill came after the switch: the new generation was already served
    abandoned: bool  # the kill left a half-written generation behind


def _until_writing(store: Path, previous: Path, process: subprocess.Popen[str]) -> None:
    """Wait until the build has started its new generation (or has ended)."""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(g.name > previous.name for g in StoreDirectory(store).generations()):
            return
        time.sleep(0.002)


def test_a_build_killed_at_random_moments_leaves_the_previous_store_and_the_next_build_succeeds(
        generated: Generated, tmp_path: Path) -> None:
    """``KILLS`` kills: one at a random moment in each quarter of the build (start-up, parse, map,
    validate, copy, write, switch), and one at a random moment once the new generation has appeared
    (the store phase, short since validation got fast)."""
    corpora = {"A": generated.sources, "B": changed_corpus(generated.sources, tmp_path / "B")}
    expected: dict[str, frozenset[Quad]] = {"A": content(generated.store)}

    # How long the build takes, measured on a copy: the kills are spread over that time.
    calibration = copy_store(generated.store, tmp_path / "calibration")
    started = time.monotonic()
    code, stderr = finish(kgbuild("build", "--sync", corpora["B"], "--store", calibration))
    duration = time.monotonic() - started
    assert code == 0, stderr[-2000:]
    assert f"{CHANGED} source(s) loaded" in stderr and "1 removed" in stderr, stderr[-500:]
    expected["B"] = content(calibration)
    assert expected["B"] != expected["A"]

    store = copy_store(generated.store, tmp_path / "kgstore")
    served, kills = "A", []
    for number in range(KILLS):
        target = "B" if served == "A" else "A"
        previous = StoreDirectory(store).current()
        assert previous is not None
        process = kgbuild("build", "--sync", corpora[target], "--store", store)
        started = time.monotonic()
        try:
            if number < KILLS - 1:
                time.sleep(duration * (number + random.random()) / (KILLS - 1))
            else:
                _until_writing(store, previous, process)
                time.sleep(random.uniform(0, 0.1))
            moment = time.monotonic() - started
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its session: the build and every process it started
        finally:
            code, stderr = finish(process)
        current = StoreDirectory(store).current()
        assert current is not None, "CURRENT was lost"
        switched = current != previous
        kills.append(Kill(moment, code == -signal.SIGKILL, switched,
                          any(g.name > current.name for g in StoreDirectory(store).generations())))
        if code == 0:
            assert switched, stderr[-500:]
        else:
            assert code == -signal.SIGKILL, stderr[-2000:]
        # The store opens, with exactly the previous content, or (killed after the switch) the new one whole.
        assert content(store) == expected[target if switched else served], f"kill {number}: mixed content"

        # The next build clears what the killed one left, and succeeds.
        report = build(sorted(corpora[target].glob("*.txt")), store, Iris(BASE_IRI), sync=True)
        assert report.ok, report.failures
        assert content(store) == expected[target]
        assert [g for g in StoreDirectory(store).generations() if g.name > report.generation] == []
        served = target
    print("kills (moment s, killed, after the switch, left a half-written generation):",
          [(round(k.moment, 2), k.killed, k.switched, k.abandoned) for k in kills], f"build: {duration:.1f} s")
    assert sum(k.killed for k in kills) >= KILLS - 1, kills


# --- a full disk ----------------------------------------------------------------------------------

@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``where`` (we run as root in CI); skipped, with the reason, where impossible."""
    where.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                                 capture_output=True, text=True, timeout=30)
        problem = mounted.stderr.strip() or f"mount exited with {mounted.returncode}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        mounted, problem = None, str(exc)
    if mounted is None or mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs to fill up ({problem}); needs root"
        if os.environ.get("KGBUILD_CI"):
            pytest.fail(reason + ": CI runs as root and must run this test")
        pytest.skip(reason + " (test_a_file_size_limit_... covers a refused write without it)")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def resize(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Served:
    generation: str
    projects: int


def served(url: str) -> Served:
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = client.post("/sparql", data={"query": PROJECTS}, headers={"Accept": "application/sparql-results+json"})
        assert answer.status_code == 200, answer.text
        generation = client.get("/healthz").json()["generation"]
    return Served(generation, int(answer.json()["results"]["bindings"][0]["n"]["value"]))


def bundled_and_generated(directory: Path, count: int = 12) -> Path:
    """The bundled corpus and ``count`` generated documents, in one directory."""
    generate(count, directory, seed=9)
    for path in default_sources():
        shutil.copy2(path, directory / path.name)
    return directory


def _kilobytes(paths: list[Path]) -> int:
    return sum(f.stat().st_size for path in paths for f in path.rglob("*") if f.is_file()) // 1024


def _dumps_made(url: str) -> None:
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/dumps/", headers={"Accept": "application/json"}, timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the server made no dumps"
        time.sleep(0.1)


def test_a_full_disk_leaves_the_previous_store_served_and_says_so(tmp_path: Path) -> None:
    """A file system the bundled corpus just fits (about 13 MB), with its dumps and 2.5 MB to spare;
    forty more documents need several times that (twelve no longer did once a new store was compacted)."""
    more = bundled_and_generated(tmp_path / "more", count=40)
    projects = 4 + sum(1 for path in more.glob("*.txt") if path.name.startswith(("esfplus-", "bank-")))
    # Measured on a fresh build: the session's shared store grows when other tests open it.
    probe = tmp_path / "probe"
    assert build(default_sources(), probe, Iris(BASE_IRI)).ok
    size = _kilobytes(sorted(probe.glob("gen-*"))) + 512 + 2560
    with tmpfs(tmp_path / "disk", f"{size}k") as disk:
        store = disk / "kgstore"
        assert build(default_sources(), store, Iris(BASE_IRI)).ok
        with running_server(make_settings(store, query_timeout=20.0)) as url:
            before = served(url)
            assert before == Served("gen-000001", 4)
            _dumps_made(url)  # they take their share of the disk first, in the background
            free = shutil.disk_usage(disk).free

            code, stderr = finish(kgbuild("build", more, "--store", store))
            assert code == 1, stderr[-2000:]
            errors = one_clear_error(stderr)
            # The disk fills while the new generation is copied or while it is written, as the space falls.
            assert any("new store generation" in line and "No space left on device" in line
                       and "the current generation is still served" in line for line in errors), errors
            assert StoreDirectory(store).current() == store / "gen-000001"
            assert [g.name for g in StoreDirectory(store).generations()] == ["gen-000001"]  # the half is gone
            assert shutil.disk_usage(disk).free >= free - 1024 * 1024, "the failed build did not free its space"
            assert served(url) == before  # served all along, unchanged

            # With space, the same build goes through and is served.
            resize(disk, "128m")
            code, stderr = finish(kgbuild("build", more, "--store", store))
            assert code == 0, stderr[-2000:]
            assert served(url) == Served("gen-000002", projects)


def test_a_file_size_limit_refuses_the_write_clearly_and_the_next_build_succeeds(
        bundled_store: Path, tmp_path: Path) -> None:
    """RLIMIT_FSIZE (no root needed): no file may grow past 128 kB, so writing the new data fails (EFBIG)."""
    store = copy_store(bundled_store, tmp_path / "kgstore")
    before = content(store)
    more = bundled_and_generated(tmp_path / "more", count=6)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024, 128 * 1024))

    code, stderr = finish(kgbuild("build", more, "--store", store, preexec_fn=limit))
    assert code == 1, stderr[-2000:]
    errors = one_clear_error(stderr)
    assert any("File too large" in line for line in errors), errors
    assert StoreDirectory(store).current() == store / "gen-000001"
    assert content(store) == before

    code, stderr = finish(kgbuild("build", more, "--store", store))
    assert code == 0, stderr[-2000:]
    assert StoreDirectory(store).current() == store / "gen-000002"
