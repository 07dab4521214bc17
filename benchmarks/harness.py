"""What every benchmark needs: timing, peak memory of a process tree, servers on loopback, wrk.

Everything runs on this machine and talks to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

__all__ = ["timed", "Timing", "free_port", "Server", "start_server", "peak_rss_mb", "WrkResult", "run_wrk",
           "VENV_BIN", "median"]

VENV_BIN = Path(sys.executable).parent


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Timing:
    seconds: float  # median wall time
    runs: int


def timed(action: Callable[[], object], runs: int = 3, setup: Callable[[], object] | None = None) -> Timing:
    """Median wall time of ``runs`` runs of ``action`` (``setup`` before each, untimed)."""
    samples = []
    for _ in range(runs):
        if setup:
            setup()
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return Timing(median(samples), runs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, summed, in MB."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            status = Path(f"/proc/{member}/status").read_text()
            match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            total += int(match.group(1)) if match else 0
    return total / 1024


def rss_mb(pid: int) -> float:
    """Current resident memory of a process tree, in MB."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{member}/status").read_text(), re.M)
            total += int(match.group(1)) if match else 0
    return total / 1024


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    endpoint: str  # the SPARQL endpoint URL
    start_seconds: float

    def peak_mb(self) -> float:
        return peak_rss_mb(self.process.pid)

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def wait_idle(self, timeout: float = 120.0) -> float:
        """Seconds until the server and its child processes use under 5 % of a core over half a second."""
        started = time.perf_counter()
        before = _cpu_seconds(self.process.pid)
        while time.perf_counter() - started < timeout:
            time.sleep(0.5)
            now = _cpu_seconds(self.process.pid)
            if now - before < 0.025:
                break
            before = now
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextlib.contextmanager
def start_server(name: str, command: Sequence[str], endpoint: str, probe_query: str = "ASK { ?s ?p ?o }",
                 timeout: float = 300.0, log: Path | None = None,
                 env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start a server, wait until its endpoint answers a query (that wait is its start time), stop it after."""
    output = log.open("wb") if log else subprocess.DEVNULL
    started = time.perf_counter()
    process = subprocess.Popen(list(command), stdout=output, stderr=subprocess.STDOUT, env=env)
    server = None
    try:
        deadline = started + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} before answering (log: {log})")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(endpoint, params={"query": probe_query},
                                   headers={"Accept": "application/sparql-results+json"}, timeout=5)
                if answer.status_code == 200:
                    break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{name} did not answer within {timeout:.0f} s")
            time.sleep(0.05)
        server = Server(name, process, endpoint, time.perf_counter() - started)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        if log:
            output.close()  # type: ignore[union-attr]


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read a wrk latency: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process tree now alive, in seconds (from /proc; 0 for a process that has gone)."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(endpoint: str, query: str | Sequence[str], connections: int, seconds: int, threads: int = 2,
            unique: bool = False) -> WrkResult:
    """Drive ``endpoint`` with GET ?query= for a bounded time with wrk; parse its report.

    Several queries are sent in turn (a Lua script gives each request the next one), so that no two
    requests in a row ask the same thing. With ``unique``, each request's text also ends in a comment
    naming the run, the wrk thread and the request: the same work, but a text no cache has seen (a list
    cycles within a run).
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (Debian package)")
    texts = [query] if isinstance(query, str) else list(query)
    paths = [f"{urlsplit(endpoint).path or '/'}?query={quote(text, safe='')}" for text in texts]
    command = [wrk, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "--timeout", "30s", "-H", "Accept: application/sparql-results+json",
               f"{endpoint}?query={quote(texts[0], safe='')}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if len(paths) > 1 or unique:
            # The comment (%0A%23: a new line, "#") names this run, the wrk thread and the request: unique.
            # Each thread has a Lua state of its own, seeded alike, so the thread's number comes from setup().
            suffix = f' .. "%0A%23{secrets.token_hex(4)}-" .. id .. "-" .. sent' if unique else ""
            script.write("paths = {" + ",".join(f'"{path}"' for path in paths) + "}\n"
                         "made = 0\n"
                         "function setup(thread)\n  made = made + 1\n  thread:set('id', made)\nend\n"
                         "counter = math.random(#paths)\nsent = 0\n"
                         "request = function()\n  counter = counter % #paths + 1\n  sent = sent + 1\n"
                         f"  return wrk.format(nil, paths[counter]{suffix})\nend\n")
            command[1:1] = ["-s", script.name]
    try:
        report = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", report, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", report, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", report).group(1))  # type: ignore[union-attr]
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", report)) else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    errors = sum(int(x) for x in socket_errors.groups()) if socket_errors else 0
    return WrkResult(rate, p50, p99, total, non_2xx, errors)


def cpu_count() -> int:
    return os.cpu_count() or 1
