"""The store: generations on disk, the atomic switch of ``CURRENT``, the build lock, and a build killed
with SIGKILL in the middle of writing.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from pyoxigraph import Literal, NamedNode, Quad, Store

from kgbuild.errors import KgbuildError
from kgbuild.pipeline import build
from kgbuild.sources import default_sources
from kgbuild.store import KEEP_GENERATIONS, StoreDirectory, open_read_only
from kgbuild.vocab import DCT
from tests.conftest import ROOT, SOURCES, BundledBuild, copy_store

GRAPH = NamedNode("http://example.org/graph")


def quad(number: int) -> Quad:
    return Quad(NamedNode(f"http://example.org/s{number}"), NamedNode("http://example.org/p"), Literal(number), GRAPH)


def adding(number: int) -> Callable[[Store, Store], int]:
    def fill(store: Store, personal: Store) -> int:
        store.add(quad(number))
        return number

    return fill


def python(script: str, *args: str | Path, **options: Any) -> subprocess.Popen[str]:
    """``python -c script args...`` from the repository root, without the caller's KGBUILD_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, env=env, text=True,
                            **options)


def test_a_generation_is_switched_in_only_when_complete(tmp_path: Path) -> None:
    directory = StoreDirectory(tmp_path / "kgstore")
    assert directory.current() is None and not directory.exists()
    assert directory.write_generation(adding(1)) == 1
    assert directory.current() == tmp_path / "kgstore" / "gen-000001"
    assert set(open_read_only(directory.root)) == {quad(1)}

    def failing(store: Store, personal: Store) -> None:
        store.add(quad(2))
        raise RuntimeError("disk full, say")

    with pytest.raises(RuntimeError, match="disk full"):
        directory.write_generation(failing)
    assert directory.current() == tmp_path / "kgstore" / "gen-000001"
    assert [g.name for g in directory.generations()] == ["gen-000001"]  # the half-written one is gone
    assert set(open_read_only(directory.root)) == {quad(1)}
    # Each generation starts as a copy of the current one.
    directory.write_generation(adding(3))
    assert set(open_read_only(directory.root)) == {quad(1), quad(3)}
    assert directory.current().name == "gen-000002"  # type: ignore[union-attr]


def test_old_generations_are_collected(tmp_path: Path) -> None:
    directory = StoreDirectory(tmp_path / "kgstore")
    for number in range(1, 8):
        directory.write_generation(adding(number))
    names = [g.name for g in directory.generations()]
    assert names == [f"gen-{n:06d}" for n in range(7 - KEEP_GENERATIONS, 8)]
    assert directory.current().name == "gen-000007"  # type: ignore[union-attr]
    assert len(open_read_only(directory.root)) == 7


def test_reading_a_store_that_was_never_built(tmp_path: Path) -> None:
    with pytest.raises(KgbuildError, match="run `kgbuild build` first"):
        open_read_only(tmp_path / "nothing-here")


def test_current_naming_something_that_is_not_a_generation(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(KgbuildError, match="not a store generation"):
        open_read_only(tmp_path)


HOLD_THE_LOCK = """
import sys
from kgbuild.store import StoreDirectory

def fill(store, personal):
    print("writing", flush=True)
    sys.stdin.readline()  # until the test says so

StoreDirectory(sys.argv[1]).write_generation(fill)
print("done", flush=True)
"""


def test_a_second_concurrent_build_is_refused_with_a_clear_error(tmp_path: Path, bundled_build: BundledBuild) -> None:
    store = tmp_path / "kgstore"
    with python(HOLD_THE_LOCK, store, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE) as writer:
        assert writer.stdout is not None and writer.stdin is not None and writer.stderr is not None
        try:
            assert writer.stdout.readline() == "writing\n", writer.stderr.read()
            with pytest.raises(KgbuildError, match=r"another build is writing to .*kgstore.*try again"):
                build([SOURCES / "003_03dc92fa27c0c321.txt"], store, bundled_build.iris)
            writer.stdin.write("go on\n")
            writer.stdin.close()
            assert writer.stdout.readline() == "done\n"
            assert writer.wait(timeout=60) == 0
        finally:
            if writer.poll() is None:
                writer.kill()
    # With the first build done, the second one goes through.
    report = build([SOURCES / "003_03dc92fa27c0c321.txt"], store, bundled_build.iris)
    assert report.ok and report.generation == "gen-000002"


BUILD = """
import sys
from pathlib import Path
from kgbuild.iris import Iris
from kgbuild.pipeline import build

report = build(sorted(Path(sys.argv[1]).glob("*.txt")), Path(sys.argv[2]), Iris("http://127.0.0.1:8000/"))
print("built", report.generation, flush=True)
"""

# Enough copies that writing and flushing their quads takes a while (about 0.1 s on two cores), few enough
# that validating them first stays within a few seconds.
COPIES = 24


def generated_corpus(directory: Path) -> list[Path]:
    """The bundled texts plus copies of the three cheap-to-validate ones: distinct names, distinct numbers."""
    directory.mkdir()
    paths = []
    for path in default_sources():
        paths.append(directory / path.name)
        paths[-1].write_bytes(path.read_bytes())
    templates = [SOURCES / name for name in
                 ("001_49fdefbf50581b3b.txt", "002_c5b1d8a317488e7e.txt", "003_03dc92fa27c0c321.txt")]
    for number in range(COPIES):
        template = templates[number % len(templates)]
        text = re.sub(r"22-0[0-9]{2}-S0[0-9]", f"99-{number:03d}-S01", template.read_text(encoding="utf-8"))
        text = text.replace("Värmlands Skolsamverkan", f"Värmlands Skolsamverkan {number}")
        text = text.replace("merit.nu", f"merit.nu {number}")
        paths.append(directory / f"{template.stem}_copy{number:03d}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def writing_into(generation: Path) -> bool:
    """Whether quads are being written into ``generation``: its write-ahead log has grown.

    The directory appears earlier (when the previous generation is copied into it) and the database
    takes a while to open; the quads are written after that, and that is the moment to kill.
    """
    try:
        logs = [p for p in generation.iterdir() if p.suffix == ".log"]
        return any(p.stat().st_size > 0 for p in logs)
    except FileNotFoundError:  # not there yet, or a log rotated away while we looked
        return False


def kill_while_writing(corpus: Path, store: Path, delay: float, log: IO[str]) -> bool:
    """Build ``corpus`` into ``store`` in a subprocess and SIGKILL it ``delay`` seconds after it starts
    writing quads into its new generation. False if it finished first (a timing miss, not a failure of
    the store).
    """
    builder = python(BUILD, corpus, store, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not writing_into(store / "gen-000002"):
            assert builder.poll() is None, f"the build ended before it started writing:\n{log_text(log)}"
            assert time.monotonic() < deadline, "the build did not start writing"
            time.sleep(0.001)
        time.sleep(delay)
        if builder.poll() is None:
            os.killpg(builder.pid, signal.SIGKILL)  # its own session: the build and anything it started
    finally:
        if builder.poll() is None:
            os.killpg(builder.pid, signal.SIGKILL)
        builder.wait(timeout=60)
    if builder.returncode == 0:
        assert "built gen-000002" in log_text(log)
        return False
    assert builder.returncode == -signal.SIGKILL, log_text(log)
    return True


def test_a_build_killed_while_writing_leaves_the_previous_generation(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    corpus = generated_corpus(tmp_path / "sources")
    for attempt in range(3):
        store = copy_store(bundled_build.store, tmp_path / f"kgstore-{attempt}")
        before = set(open_read_only(store))
        delay = random.uniform(0.0, 0.03)
        with (tmp_path / f"build-{attempt}.log").open("w+", encoding="utf-8") as log:
            if kill_while_writing(corpus[0].parent, store, delay, log):
                assert "built" not in log_text(log)
                break
    else:
        pytest.fail("three builds finished before they could be killed while writing: make the corpus bigger")

    # Readers still get the previous generation, whole.
    abandoned = store / "gen-000002"
    assert StoreDirectory(store).current() == store / "gen-000001"
    assert set(open_read_only(store)) == before
    assert abandoned.is_dir()  # what the killed build left behind

    # The next build clears it away and goes through.
    marker = abandoned / "left-by-the-killed-build"
    marker.write_text("x", encoding="utf-8")
    copy = next(p for p in corpus if p.name == "003_03dc92fa27c0c321_copy002.txt")
    report = build(default_sources() + [copy], store, bundled_build.iris)
    assert report.ok, report.failures
    assert report.replaced == [copy.name]
    assert report.generation == "gen-000002" == StoreDirectory(store).current().name  # type: ignore[union-attr]
    assert not marker.exists()
    after = open_read_only(store)
    assert before <= set(after)
    project = bundled_build.iris.id("project", "99-002-S01")
    assert list(after.quads_for_pattern(project, NamedNode(DCT + "title"), None))


def log_text(log: IO[str]) -> str:
    log.flush()
    log.seek(0)
    return str(log.read())


def test_open_store_chooses_the_kind_once_from_the_settings(tmp_path: Path) -> None:
    from kgbuild.embedded_store import EmbeddedStore
    from kgbuild.remote_store import RemoteStore
    from kgbuild.settings import load_settings
    from kgbuild.store import GraphStore
    from kgbuild.stores import open_store

    with open_store(load_settings({"store": str(tmp_path / "kg")}, environ={})) as embedded:
        assert isinstance(embedded, EmbeddedStore) and isinstance(embedded, GraphStore)
        assert embedded.generation() is None and embedded.takes_bundled_corpus() and embedded.recorded_graphs() == []
        assert embedded.keeps_change_log and embedded.open_changes() is None
    with open_store(load_settings({"store": "http://127.0.0.1:9/query"}, environ={})) as remote:
        assert isinstance(remote, RemoteStore) and isinstance(remote, GraphStore)
        assert not remote.keeps_change_log and remote.open_changes() is None and not remote.takes_bundled_corpus()
        with pytest.raises(KgbuildError, match="written graph by graph"):  # what one kind lacks, it says so
            remote.bulk_load(lambda store, personal: None, fresh=True, record=None)
