"""Rebuilding the store while the server answers: queries in flight finish, nothing fails, the switch is atomic.

A build writes a new generation beside the served one and switches ``CURRENT`` when it is complete;
query workers follow ``CURRENT`` before every job. So during a rebuild every query is answered (from
the old generation or the new one, never a mix, never a lock error), and a build killed halfway
changes nothing that is served.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.resources import queries_path
from kgbuild.sources import default_sources
from tests.server.conftest import BASE, make_settings, running_server

PROJECT = f"{BASE}id/project/22-010-S04"
SOURCE = "001_49fdefbf50581b3b.txt"  # the ESF+ record of project 22-010-S04
OLD_TITLE = "Värmlands Skolsamverkan"
NEW_TITLE = "Värmlands Skolsamverkan (reviderad)"
TITLE_QUERY = f"SELECT ?t WHERE {{ <{PROJECT}> <http://purl.org/dc/terms/title> ?t }}"
JSON_RESULTS = "application/sparql-results+json"
CLIENTS = 12
BURST_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    kind: str  # "title", "page" or "named"
    started: float
    ended: float
    status: int  # 0: the request raised
    titles: tuple[str, ...] = ()
    error: str = ""


def _copy_corpus(tmp_path: Path) -> list[Path]:
    sources = tmp_path / "sources"
    sources.mkdir()
    for path in default_sources():
        shutil.copy2(path, sources / path.name)
    paths = sorted(sources.glob("*.txt"))
    assert SOURCE in [p.name for p in paths]
    return paths


def _retitle(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert OLD_TITLE in text
    path.write_text(text.replace(OLD_TITLE, NEW_TITLE), encoding="utf-8")


def _titles(client: httpx.Client, url: str) -> tuple[int, tuple[str, ...], str]:
    response = client.post(f"{url}/sparql", data={"query": TITLE_QUERY}, headers={"Accept": JSON_RESULTS})
    if response.status_code != 200:
        return response.status_code, (), response.text
    return 200, tuple(b["t"]["value"] for b in response.json()["results"]["bindings"]), ""


def _client_loop(url: str, number: int, stop: threading.Event, out: list[Outcome], lock: threading.Lock) -> None:
    """One client: title queries mostly, with linked-data pages and a named query in between."""
    named = (queries_path() / "granted-by-nuts2.rq").read_text(encoding="utf-8")
    with httpx.Client(timeout=30) as client:
        turn = number
        while not stop.is_set():
            turn += 1
            kind = "title" if turn % 3 else ("page" if turn % 2 else "named")
            started = time.monotonic()
            status, titles, error = 0, (), ""
            try:
                if kind == "title":
                    status, titles, error = _titles(client, url)
                elif kind == "page":
                    response = client.get(f"{PROJECT.replace(BASE, url + '/')}.ttl")
                    status, error = response.status_code, "" if response.is_success else response.text
                else:
                    response = client.post(f"{url}/sparql", data={"query": named}, headers={"Accept": "text/csv"})
                    status, error = response.status_code, "" if response.is_success else response.text
            except Exception as exc:  # noqa: BLE001 - every failure is an outcome the test reports
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                out.append(Outcome(kind, started, time.monotonic(), status, titles, error))


def test_rebuild_while_serving_a_burst_of_queries(tmp_path: Path) -> None:
    paths = _copy_corpus(tmp_path)
    store = tmp_path / "kgstore"
    assert build(paths, store, Iris(BASE)).ok
    settings = make_settings(store, query_workers=3, max_concurrent_per_client=CLIENTS * 2, query_timeout=20.0)
    with running_server(settings) as url:
        with httpx.Client(timeout=30) as client:
            assert _titles(client, url) == (200, (OLD_TITLE,), "")
        outcomes: list[Outcome] = []
        lock, stop = threading.Lock(), threading.Event()
        threads = [threading.Thread(target=_client_loop, args=(url, n, stop, outcomes, lock), name=f"client-{n}")
                   for n in range(CLIENTS)]
        burst_started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            time.sleep(BURST_SECONDS * 0.3)
            _retitle(next(p for p in paths if p.name == SOURCE))
            build_started = time.monotonic()
            report = build(paths, store, Iris(BASE))
            build_ended = time.monotonic()
            time.sleep(max(0.0, BURST_SECONDS - (time.monotonic() - burst_started)))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a client hung"

        assert report.ok, report.failures
        assert report.replaced == [SOURCE] and report.generation == "gen-000002"
        failed = [o for o in outcomes if o.status != 200]
        assert not failed, failed[:5]  # no 5xx, no 429, no exception, no lock error
        titles = [o for o in outcomes if o.kind == "title"]
        assert all(len(o.titles) == 1 and o.titles[0] in (OLD_TITLE, NEW_TITLE) for o in titles), \
            {o.titles for o in titles}
        before = [o for o in titles if o.ended < build_started]
        after = [o for o in titles if o.started > build_ended]
        during = [o for o in outcomes if o.started < build_ended and o.ended > build_started]
        assert len(before) >= 10 and len(after) >= 10 and during, (len(before), len(after), len(during))
        assert {o.titles[0] for o in before} == {OLD_TITLE}
        # Workers read CURRENT before every job: a query sent after the switch never sees the old title.
        assert {o.titles[0] for o in after} == {NEW_TITLE}
        assert {o.kind for o in outcomes} == {"title", "page", "named"}

        with httpx.Client(timeout=30) as client:
            for _ in range(10):
                assert _titles(client, url) == (200, (NEW_TITLE,), "")
            health = client.get(f"{url}/healthz").json()
        assert health["generation"] == "gen-000002" and health["queries_stopped_at_deadline"] == 0


# The real build, paused (not mocked) right after it loaded the changed graph into the new generation
# (``kgbuild.load._forget`` runs next, on its build record): the writer is open there and CURRENT not yet switched.
# The marker file says it got that far.
_PAUSED_BUILD = """
import sys, time
from pathlib import Path
import kgbuild.load as load
import kgbuild.pipeline as pipeline
from kgbuild.iris import Iris

sources, store, marker, base = sys.argv[1:5]
forget = load._forget

def forget_then_pause(*args, **kwargs):
    forget(*args, **kwargs)
    Path(marker).write_text("paused inside the build")
    time.sleep(120)

load._forget = forget_then_pause
pipeline.build(sorted(Path(sources).glob("*.txt")), Path(store), Iris(base))
"""


def test_a_killed_build_leaves_the_served_generation_alone(tmp_path: Path) -> None:
    paths = _copy_corpus(tmp_path)
    store = tmp_path / "kgstore"
    assert build(paths, store, Iris(BASE)).ok
    _retitle(next(p for p in paths if p.name == SOURCE))
    marker = tmp_path / "paused"
    with running_server(make_settings(store, query_timeout=20.0)) as url, httpx.Client(timeout=30) as client:
        assert _titles(client, url) == (200, (OLD_TITLE,), "")
        log = (tmp_path / "build.log").open("wb")
        process = subprocess.Popen([sys.executable, "-c", _PAUSED_BUILD, str(paths[0].parent), str(store),
                                    str(marker), BASE], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert process.poll() is None, (tmp_path / "build.log").read_text()
                assert time.monotonic() < deadline, "the build never reached the store"
                time.sleep(0.05)
            assert (store / "gen-000002").is_dir()  # half written, its writer open
            for _ in range(5):
                assert _titles(client, url) == (200, (OLD_TITLE,), "")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            log.close()
        assert process.returncode == -signal.SIGKILL

        assert (store / "CURRENT").read_text(encoding="utf-8").strip() == "gen-000001"
        for _ in range(10):
            assert _titles(client, url) == (200, (OLD_TITLE,), "")
        assert client.get(f"{url}/healthz").json()["generation"] == "gen-000001"
        linked = client.get(f"{PROJECT.replace(BASE, url + '/')}.ttl")
        assert linked.status_code == 200 and OLD_TITLE in linked.text

        # The next build clears what the killed one left (its lock died with it) and is served.
        report = build(paths, store, Iris(BASE))
        assert report.ok and report.replaced == [SOURCE] and report.generation == "gen-000002"
        assert _titles(client, url) == (200, (NEW_TITLE,), "")

