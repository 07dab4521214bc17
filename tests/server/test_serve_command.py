"""The actual ``kgbuild serve`` command, as a user runs it: a subprocess, a real port, a signal to stop it.

The store starts empty, so the command builds the bundled corpus first. It binds 127.0.0.1 unless told
otherwise, logs the port it picked (``--port 0``), answers the page and SPARQL, and on SIGINT or SIGTERM
shuts down gracefully (workers stopped, no traceback) within a few seconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

PROJECT = "http://127.0.0.1:8000/id/project/22-010-S04"
TITLE = "Värmlands Skolsamverkan"
RUNNING = re.compile(r"Uvicorn running on http://(?P<host>[^:/\s]+):(?P<port>\d+)")
ACCESS_LINE = re.compile(r'INFO: +127\.0\.0\.1:\d+ - "(GET|POST) \S+ HTTP/1\.1" \d{3}')
START_SECONDS = 90  # includes building the bundled corpus
STOP_SECONDS = 10


class _Lines:
    """Collects a pipe's lines in a thread, so the child never blocks on a full pipe."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True, name="serve-log")
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._lock:
                self.lines.append(line)

    def text(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def join(self) -> None:
        self._thread.join(timeout=10)


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _listen_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (IPv4 as dotted quads, IPv6 as hex)."""
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:
                if len(address) == 8:
                    address = ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
                found.add(address)
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_builds_serves_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs /proc to check the listening address")
    store = tmp_path / "kgstore"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}  # the defaults, as a user has them
    process = subprocess.Popen([sys.executable, "-m", "kgbuild.cli", "serve", "--store", str(store), "--port", "0"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               encoding="utf-8")
    stdout, stderr = _Lines(process.stdout), _Lines(process.stderr)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not (match := RUNNING.search(stderr.text())):
            assert process.poll() is None, f"serve exited with {process.returncode}:\n{stderr.text()}"
            assert time.monotonic() < deadline, f"serve did not start:\n{stderr.text()}"
            time.sleep(0.05)
        host, port = match["host"], int(match["port"])
        assert host == "127.0.0.1" and port > 0
        assert f"built the bundled corpus into {store}" in stderr.text()
        assert (store / "CURRENT").read_text(encoding="utf-8").strip() == "gen-000001"
        assert _listen_addresses(port) == {"127.0.0.1"}, "serve must bind the loopback address only"
        url = f"http://127.0.0.1:{port}"

        with httpx.Client(timeout=30) as client:
            page = client.get(f"{url}/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert "<title>kgbuild" in page.text and 'id="yasgui"' in page.text
            answer = client.post(f"{url}/sparql", headers={"Accept": "application/sparql-results+json"}, data={
                "query": f"SELECT ?t WHERE {{ <{PROJECT}> <http://purl.org/dc/terms/title> ?t }}"})
            assert answer.status_code == 200, answer.text
            assert [b["t"]["value"] for b in answer.json()["results"]["bindings"]] == [TITLE]
            assert client.get(f"{url}/healthz").json()["generation"] == "gen-000001"
        workers = _children(process.pid)
        assert len(workers) >= 2, "the query workers run as child processes"

        stopped = time.monotonic()
        process.send_signal(stop_signal)
        process.wait(timeout=STOP_SECONDS)
        assert time.monotonic() - stopped < STOP_SECONDS
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        stdout.join()
        stderr.join()
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]

    log = stderr.text()
    assert "Traceback" not in log + stdout.text(), log
    # serve has no data to print; only uvicorn's access log goes to stdout (uvicorn's default configuration).
    assert all(ACCESS_LINE.match(line) for line in stdout.text().splitlines()), stdout.text()
    for line in ("Shutting down", "Application shutdown complete", "Finished server process"):
        assert line in log, log
    # uvicorn shuts down gracefully, then re-raises the signal it caught: SIGINT becomes KeyboardInterrupt,
    # which the CLI reports as "interrupted" (exit 130); SIGTERM ends the process the conventional way.
    expected = {0, 130} if stop_signal == signal.SIGINT else {0, -signal.SIGTERM}
    assert process.returncode in expected, (process.returncode, log)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "query workers outlived the server"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)


SCRIPT_SECONDS = 240  # scripts/install (pip, usually a no-op), the build, the start


def test_scripts_serve_gives_the_build_its_settings(tmp_path: Path) -> None:
    """Issue 19.2: ``scripts/serve --base-iri X`` built under the default and served 404 on every ``/id/`` page;
    ``scripts/serve --port N`` (another port than the base's) must serve the store's IRIs with no other flag."""
    from kgbuild.store import open_read_only

    root = Path(__file__).resolve().parents[2]
    store, base = tmp_path / "kgstore", "http://127.0.0.1:8812/"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}
    for extra in (["--base-iri", base], []):  # the second run names no base: the store's own goes on
        process = subprocess.Popen([str(root / "scripts" / "serve"), "--port", "0", "--store", str(store), *extra],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   encoding="utf-8", start_new_session=True)
        stdout, stderr = _Lines(process.stdout), _Lines(process.stderr)
        try:
            deadline = time.monotonic() + SCRIPT_SECONDS
            while not (match := RUNNING.search(stderr.text())):
                assert process.poll() is None, f"scripts/serve exited with {process.returncode}:\n{stderr.text()}"
                assert time.monotonic() < deadline, f"scripts/serve did not start:\n{stderr.text()}"
                time.sleep(0.1)
            url = f"http://127.0.0.1:{match['port']}"
            assert url + "/" != base
            # The build step built this store (not ./kgstore), so serve had nothing left to build.
            assert f"built {store}/gen-" in stderr.text() and "built the bundled corpus" not in stderr.text()
            with httpx.Client(base_url=url, timeout=30) as client:
                page = client.get("/id/project/22-010-S04", headers={"accept": "text/turtle"})
                assert page.status_code == 200, page.text
                assert f"<{base}id/project/22-010-S04>" in page.text
                karlstad = client.get("/id/organisation/municipality/1780", headers={"accept": "text/html"})
                assert karlstad.status_code == 200
            process.send_signal(signal.SIGTERM)  # `exec`: the script's process is now kgbuild serve
            process.wait(timeout=STOP_SECONDS)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            stdout.join()
            stderr.join()
            process.stdout.close()  # type: ignore[union-attr]
            process.stderr.close()  # type: ignore[union-attr]
        assert "Traceback" not in stderr.text(), stderr.text()
        graphs = {g.value for g in open_read_only(store).named_graphs()}
        assert graphs and all(g.startswith(base) for g in graphs), sorted(graphs)
