"""Files: dumps and the dataset description requested while rebuilds switch the store.

``tests/server/test_rebuild.py`` sends a burst of queries and linked-data requests through a rebuild
(no 5xx, the switch atomic). What it leaves out is the file-serving side: the dumps are made once per
store generation, in the background, and swapped in whole. Here clients download them over and over
while the store is rebuilt twice. Every answer is a complete file (the gzip stream ends where
it should) or the documented 503 with ``Retry-After``; a file the index listed is never "not found";
and at the end the dumps are those of the last generation.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx

from kgbuild.export import _swap_in, write_dumps
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.server.dumps import DumpKeeper
from kgbuild.sources import default_sources
from kgbuild.store import open_read_only
from tests.conftest import copy_store
from tests.server.conftest import BASE, make_settings, running_server

SOURCE = "001_49fdefbf50581b3b.txt"  # the ESF+ record of project 22-010-S04
TITLE = "Värmlands Skolsamverkan"
REBUILDS = 2
CLIENTS = 3
SWAPS = 200


def _client(url: str, stop: threading.Event, outcomes: list[tuple[str, int, str]], lock: threading.Lock) -> None:
    """Index, then every file it lists, again and again. Records (what, status, problem)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            found: list[tuple[str, int, str]] = []
            index = client.get("/dumps/", headers={"Accept": "application/json"})
            found.append(("index", index.status_code, _problem(index)))
            names = [f["name"] for f in index.json()["files"]] if index.status_code == 200 else []
            for name in names:
                response = client.get(f"/dumps/{name}")
                problem = _problem(response)
                if response.status_code == 200 and name.endswith(".gz"):
                    try:
                        gzip.decompress(response.content)  # a half-written or cut file fails here
                    except (OSError, EOFError, zlib.error) as exc:
                        problem = f"{name}: not a complete gzip file: {exc}"
                found.append((name, response.status_code, problem))
            void = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
            found.append(("void", void.status_code, _problem(void)))
            with lock:
                outcomes.extend(found)


def _problem(response: httpx.Response) -> str:
    if response.status_code == 200:
        return ""
    if response.status_code == 503 and response.headers.get("retry-after"):
        return ""  # documented: the dumps are being made, or were just replaced
    return f"{response.status_code} {response.request.url.path}: {response.text[:200]}"


def _generation(client: httpx.Client) -> str | None:
    index = client.get("/dumps/", headers={"Accept": "application/json"})
    return str(index.json()["generation"]) if index.status_code == 200 else None


def test_dumps_requested_while_rebuilds_switch_the_store(bundled_store: Path, tmp_path: Path) -> None:
    store = copy_store(bundled_store, tmp_path / "kgstore")
    sources = tmp_path / "sources"
    sources.mkdir()
    for path in default_sources():
        shutil.copy2(path, sources / path.name)
    with running_server(make_settings(store, query_timeout=20.0)) as url, httpx.Client(base_url=url,
                                                                                       timeout=60) as client:
        deadline = time.monotonic() + 60
        while _generation(client) != "gen-000001":
            assert time.monotonic() < deadline, "the first dumps were never made"
            time.sleep(0.2)
        outcomes: list[tuple[str, int, str]] = []
        lock, stop = threading.Lock(), threading.Event()
        threads = [threading.Thread(target=_client, args=(url, stop, outcomes, lock), name=f"dumps-client-{n}")
                   for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            for number in range(1, REBUILDS + 1):
                page = sources / SOURCE
                page.write_text(page.read_text(encoding="utf-8").replace(
                    TITLE if number == 1 else f"{TITLE} {number - 1}", f"{TITLE} {number}"), encoding="utf-8")
                report = build(sorted(sources.glob("*.txt")), store, Iris(BASE))
                assert report.ok and report.replaced == [SOURCE], (report.failures, report.replaced)
                wanted = f"gen-{number + 1:06d}"
                while _generation(client) != wanted:  # the dumps follow the switch
                    assert time.monotonic() < deadline + 60 * number, f"the dumps of {wanted} were never made"
                    time.sleep(0.1)
                time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a client hung"

        problems = [problem for _, _, problem in outcomes if problem]
        assert not problems, problems[:5]
        statuses = Counter(status for _, status, _ in outcomes)
        assert statuses[200] > 10 * REBUILDS, statuses
        # At the end: the last generation's dumps, whose checksums match, holding the last title.
        index = client.get("/dumps/", headers={"Accept": "application/json"}).json()
        assert index["generation"] == f"gen-{REBUILDS + 1:06d}"
        for entry in index["files"]:
            body = client.get(f"/dumps/{entry['name']}").content
            if entry["sha256"]:
                assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["name"]
            if entry["name"].endswith(".nt.gz"):
                assert f"{TITLE} {REBUILDS}".encode() in gzip.decompress(body)


def test_a_dump_is_never_missing_while_the_dumps_are_swapped(bundled_store: Path, tmp_path: Path) -> None:
    """The moment of the swap itself, probed as fast as a loop can. The server answers "no dump called
    X" (404) when X is not in the directory it lists. With two renames (the old directory away, the new
    one in) there was a moment without the directory, and the old one was deleted under a listing that
    had just opened it: over 200 swaps some probes missed the dump (404), and a listing could fail with
    FileNotFoundError (a 500). The swap (``write_dumps``'s last step) is now one atomic exchange, and the
    server keeps the previous set until the next swap."""
    store = copy_store(bundled_store, tmp_path / "kgstore")
    keeper = DumpKeeper(make_settings(store))
    write_dumps(open_read_only(store), Iris(BASE), keeper.directory, "t", "p", "http://example.org/licence",
                generation="gen-000001")
    assert "kgbuild.nt.gz" in keeper.files()
    probes, misses, stop = [0], [0], threading.Event()
    swapped = [0]  # swaps done
    began_after = [0]  # swaps done before the last finished probe began
    probed = threading.Condition()

    def probe() -> None:
        while not stop.is_set():
            swaps_before = swapped[0]
            if "kgbuild.nt.gz" not in keeper.files() or keeper.generation() != "gen-000001":
                misses[0] += 1
            with probed:
                probes[0] += 1
                began_after[0] = swaps_before
                probed.notify_all()

    prober = threading.Thread(target=probe, name="dumps-prober")
    prober.start()
    try:
        for number in range(1, SWAPS + 1):  # a complete new set of dumps each time, as write_dumps stages it
            staging = Path(tempfile.mkdtemp(prefix=".dumps-", dir=store))
            for path in keeper.directory.iterdir():
                os.link(path, staging / path.name)
            _swap_in(staging, keeper.directory, keep_previous=True)  # as the server's DumpKeeper does
            swapped[0] = number
            time.sleep(0.02)  # swaps come once per store generation: this is thousands of times as often
            # The set replaced here is removed at the next swap: that swap must come after every listing begun
            # before this one has ended, as it does when swaps are a generation apart. Every 20 ms, a prober
            # held off a loaded machine's processors across two swaps would read a set being removed.
            with probed:
                assert probed.wait_for(lambda: began_after[0] >= swapped[0] or not prober.is_alive(), timeout=60), \
                    "no listing began and ended after a swap within 60 s"
    finally:
        stop.set()
        prober.join(timeout=30)
    assert probes[0] > 1000 and misses[0] == 0, (probes[0], misses[0])
    # Nothing left over but the one previous set, hidden, removed at the next swap.
    assert sorted(p.name for p in store.iterdir() if "dumps" in p.name) == [".dumps-public.previous", "dumps-public"]
