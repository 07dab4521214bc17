"""A bounded soak of the endpoint: mixed queries at a fixed concurrency, memory watched, on loopback only.

``kgbuild serve`` runs as a subprocess on 127.0.0.1 over a store built by ``kgbuild build`` from a
generated corpus (``benchmarks.corpus``). Clients send a mix of cheap lookups, aggregates, joins,
linked-data pages, the dumps index and, from one client, runaway queries that must meet the deadline.
The run is bounded twice: it stops after ``--seconds`` or ``--requests``, whichever comes first.

Reported: requests served, answers by status, queries stopped at the deadline (``/healthz``), latency
per kind, and the resident memory of the server's process tree (the server and its query workers, read
from ``/proc``) at the start, at its peak and at the end. The run fails (exit 1) on any 5xx other than
the documented 503 of the deadline, on a request that got no answer, on a query of the mix stopped
while it ran (each takes milliseconds over the generated store: it was stuck), or when the memory of the last
minute is more than 20 % above that of the first minute (the first and last quarter of a run shorter
than four minutes).

Usage::

    python -m benchmarks.soak                       # 5 minutes, concurrency 16, 200 documents
    python -m benchmarks.soak --seconds 10 --out /tmp/soak.md   # a smoke run

Results go to ``benchmarks/results/soak.md`` (``--out``) and are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.corpus import generate
from benchmarks.harness import free_port, rss_mb

__all__ = ["Soak", "main", "run_soak", "report"]

HERE = Path(__file__).parent
HOST = "127.0.0.1"  # loopback only: there is no option to change it
GROWTH_LIMIT = 0.20
JSON_RESULTS = "application/sparql-results+json"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
PROJECTS = "SELECT ?p WHERE { ?p a <https://w3id.org/kgbuild/ontology#Project> } ORDER BY ?p"
# (kind, weight) of the mixed clients' requests.
MIX = (("lookup", 40), ("aggregate", 15), ("join", 15), ("page", 20), ("dumps-index", 5), ("health", 5))
# 503 answers the README documents: the query met its deadline while it ran (its worker was killed), or
# while it waited for a worker (every worker stayed busy that long).
STOPPED = re.compile(r"stopped at the .* deadline")
QUEUED = re.compile(r"stayed busy for")


@dataclass
class Outcome:
    kind: str
    status: int  # 0: no answer (a connection error or a client timeout)
    seconds: float
    note: str = ""


@dataclass
class Soak:
    """What a run did and saw."""

    seconds: float
    concurrency: int
    documents: int
    query_timeout: float
    outcomes: list[Outcome] = field(default_factory=list)
    memory: list[tuple[float, float]] = field(default_factory=list)  # (seconds since the load started, MB)
    deadline_kills: int = 0
    elapsed: float = 0.0
    quads: int = 0

    def statuses(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes)

    def failures(self) -> list[Outcome]:
        """Answers the endpoint must never give: a 5xx other than the deadline's 503, no answer, or a query
        of the mix stopped while it ran (over the generated store each takes milliseconds: it was stuck)."""
        return [o for o in self.outcomes
                if o.status == 0 or (o.status >= 500 and not self.at_deadline(o))
                or (o.kind != "runaway" and o.status == 503 and STOPPED.search(o.note))]

    @staticmethod
    def at_deadline(outcome: Outcome) -> bool:
        return outcome.status == 503 and bool(STOPPED.search(outcome.note) or QUEUED.search(outcome.note))

    def window(self) -> float:
        """The span compared: a minute, or a quarter of a run shorter than four minutes."""
        return min(60.0, self.elapsed / 4)

    def windows(self) -> tuple[float, float]:
        """Mean memory of the first and the last :meth:`window` of the load."""
        span = self.window()
        first = [mb for t, mb in self.memory if t <= span] or [self.memory[0][1]]
        last = [mb for t, mb in self.memory if t >= self.elapsed - span] or [self.memory[-1][1]]
        return statistics.fmean(first), statistics.fmean(last)

    def growth(self) -> float:
        first, last = self.windows()
        return last / first - 1 if first else 0.0

    def ok(self) -> bool:
        return not self.failures() and self.growth() <= GROWTH_LIMIT


def _kgbuild(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "kgbuild.cli", *map(str, args)]


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")}


def prepare_store(documents: int, seed: int, work: Path, store: Path | None) -> Path:
    """The store to serve: ``store`` if it holds a build, else the generated corpus built (once) under ``work``."""
    if store is not None and (store / "CURRENT").exists():
        return store
    store = store or work / f"soak-{documents}-{seed}" / "kgstore"
    if (store / "CURRENT").exists():
        return store
    sources = store.parent / "sources"
    generate(documents, sources, seed=seed)
    print(f"building {documents} generated documents into {store} ...", file=sys.stderr)
    built = subprocess.run(_kgbuild("build", sources, "--store", store), env=_environment(), capture_output=True,
                           text=True, timeout=3600)
    if built.returncode != 0:
        raise RuntimeError(f"kgbuild build failed:\n{built.stderr[-3000:]}")
    return store


@contextlib.contextmanager
def serve(store: Path, query_timeout: float, concurrency: int, workers: int, log: Path) -> Iterator[
        tuple[str, subprocess.Popen[bytes]]]:
    """``kgbuild serve`` on 127.0.0.1 and a free port, in its own session; stopped (and reaped) after."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            _kgbuild("serve", "--store", store, "--host", HOST, "--port", str(port), "--query-timeout",
                     str(query_timeout), "--max-concurrent-per-client", str(concurrency), "--query-workers",
                     str(workers)),
            env=_environment(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"kgbuild serve exited with {process.returncode}; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=2).json().get("status") == "ok":
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kgbuild serve did not answer within 120 s; see {log}")
                time.sleep(0.1)
            yield url, process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # any worker left behind


@dataclass(frozen=True)
class Workload:
    projects: tuple[str, ...]
    aggregates: tuple[str, ...]
    joins: tuple[str, ...]
    base: str


def workload(client: httpx.Client) -> Workload:
    """Project IRIs to look up, and the named queries, split into aggregates (GROUP BY) and joins."""
    rows = client.post("/sparql", data={"query": PROJECTS}, headers={"Accept": JSON_RESULTS}).json()
    projects = tuple(row["p"]["value"] for row in rows["results"]["bindings"])
    named = [q["query"] for q in client.get("/queries").json() if "SERVICE" not in q["query"]]
    if not projects or not named:
        raise RuntimeError("the store has no projects or the server no named queries")
    base = projects[0].split("id/project/")[0]
    return Workload(projects, tuple(q for q in named if "GROUP BY" in q),
                    tuple(q for q in named if "GROUP BY" not in q), base)


async def _request(client: httpx.AsyncClient, kind: str, load: Workload, rng: random.Random) -> httpx.Response:
    if kind == "lookup":
        project = rng.choice(load.projects)
        query = (f"SELECT ?p ?o WHERE {{ <{project}> ?p ?o }} ORDER BY ?p LIMIT {rng.randint(5, 50)}")
        return await client.post("/sparql", data={"query": query}, headers={"Accept": JSON_RESULTS})
    if kind in ("aggregate", "join"):
        query = rng.choice(load.aggregates if kind == "aggregate" else load.joins)
        accept = rng.choice([JSON_RESULTS, "text/csv", "application/sparql-results+xml"])
        return await client.post("/sparql", data={"query": query}, headers={"Accept": accept})
    if kind == "page":
        path = rng.choice(load.projects).removeprefix(load.base)
        return await client.get("/" + path + rng.choice(["", ".ttl", ".jsonld"]),
                                headers={"Accept": "text/html"})
    if kind == "dumps-index":
        return await client.get("/dumps/", headers={"Accept": "application/json"})
    if kind == "health":
        return await client.get("/healthz")
    if kind == "runaway":
        return await client.post("/sparql", data={"query": RUNAWAY}, headers={"Accept": JSON_RESULTS})
    raise ValueError(kind)


async def _client(number: int, url: str, load: Workload, soak: Soak, stop_at: float, budget: list[int],
                  seed: int) -> None:
    """One client: requests back to back until the time or the request budget runs out.

    Client 0 sends only runaway queries (one at a time, a pause between): at most one worker is busy
    with a query that must be stopped, as on a public endpoint with one careless user.
    """
    rng = random.Random(seed * 1000 + number)
    kinds, weights = zip(*MIX, strict=True)
    timeout = httpx.Timeout(soak.query_timeout * 3 + 30)
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        while time.monotonic() < stop_at and budget[0] > 0:
            budget[0] -= 1
            kind = "runaway" if number == 0 else rng.choices(kinds, weights)[0]
            started = time.monotonic()
            try:
                response = await _request(client, kind, load, rng)
                status, note = response.status_code, response.text[:200] if response.status_code >= 400 else ""
            except httpx.HTTPError as exc:
                status, note = 0, f"{type(exc).__name__}: {exc}"
            soak.outcomes.append(Outcome(kind, status, time.monotonic() - started, " ".join(note.split())))
            if number == 0:
                await asyncio.sleep(min(2.0, max(0.0, stop_at - time.monotonic())))
                if stop_at - time.monotonic() < soak.query_timeout:
                    return  # another runaway query would outlast the run


async def _watch(pid: int, soak: Soak, started: float, done: asyncio.Event) -> None:
    while not done.is_set():
        soak.memory.append((time.monotonic() - started, rss_mb(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=1.0)
    soak.memory.append((time.monotonic() - started, rss_mb(pid)))


async def _load(url: str, pid: int, load: Workload, soak: Soak, requests: int, seed: int) -> None:
    started = time.monotonic()
    done = asyncio.Event()
    watcher = asyncio.create_task(_watch(pid, soak, started, done))
    budget = [requests]
    await asyncio.gather(*(_client(n, url, load, soak, started + soak.seconds, budget, seed)
                           for n in range(soak.concurrency)))
    soak.elapsed = time.monotonic() - started
    done.set()
    await watcher


def _wait_for_dumps(client: httpx.Client) -> None:
    """The dumps are made in the background after start (503 until then): the soak measures the steady state."""
    deadline = time.monotonic() + 300
    while client.get("/dumps/", headers={"Accept": "application/json"}).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the server made no dumps within 300 s")
        time.sleep(0.5)


def run_soak(seconds: float, requests: int, concurrency: int, documents: int, seed: int, query_timeout: float,
             workers: int, work: Path, store: Path | None = None) -> Soak:
    """Build (or reuse) the store, serve it, load it; return what was seen."""
    served = prepare_store(documents, seed, work, store)
    soak = Soak(seconds, concurrency, documents, query_timeout)
    with serve(served, query_timeout, concurrency, workers, work / "soak-serve.log") as (url, process), \
            httpx.Client(base_url=url, timeout=60) as client:
        load = workload(client)
        count = client.post("/sparql", data={"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"},
                            headers={"Accept": JSON_RESULTS}).json()
        soak.quads = int(count["results"]["bindings"][0]["n"]["value"])
        _wait_for_dumps(client)
        killed_before = int(client.get("/healthz").json()["queries_stopped_at_deadline"])
        asyncio.run(_load(url, process.pid, load, soak, requests, seed))
        soak.deadline_kills = int(client.get("/healthz").json()["queries_stopped_at_deadline"]) - killed_before
    return soak


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _by_status(statuses: Counter[int]) -> str:
    return ", ".join(f"{status or 'no answer'}: {count:,}" for status, count in sorted(statuses.items()))


def report(soak: Soak) -> str:
    """The run as Markdown."""
    statuses = soak.statuses()
    first, last = soak.windows()
    megabytes = [mb for _, mb in soak.memory]
    kinds = sorted({o.kind for o in soak.outcomes})
    stopped = sum(1 for o in soak.outcomes if o.status == 503 and STOPPED.search(o.note))
    queued = sum(1 for o in soak.outcomes if o.status == 503 and QUEUED.search(o.note))
    lines = [
        "# Soak: the endpoint under a bounded mixed load",
        "",
        f"Run {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}), `python -m benchmarks.soak "
        f"--seconds {soak.seconds:g}`: {soak.concurrency} concurrent clients on 127.0.0.1 for "
        f"{soak.elapsed:.0f} s against `kgbuild serve` (query deadline {soak.query_timeout:g} s) over "
        f"{soak.documents} generated documents ({soak.quads:,} quads). One client sends only runaway queries "
        "(a cartesian product, one at a time); the others a mix of the rest.",
        "",
        f"**{'PASS' if soak.ok() else 'FAIL'}**: {len(soak.failures())} answers outside the contract (a 5xx other "
        f"than the deadline's 503, no answer, or a query other than a runaway stopped while it ran); memory "
        f"of the last {soak.window():,.0f} s {soak.growth():+.1%} against the first (limit +{GROWTH_LIMIT:.0%}).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| requests answered | {len(soak.outcomes):,} ({len(soak.outcomes) / soak.elapsed:,.1f}/s) |",
        f"| answers by status | {_by_status(statuses)} |",
        f"| 503 at the deadline (documented): stopped while running / while waiting for a worker | "
        f"{stopped:,} / {queued:,} |",
        f"| queries stopped at the deadline (`/healthz`) | {soak.deadline_kills:,} |",
        f"| memory of server + query workers: start / peak / end | {megabytes[0]:,.0f} / {max(megabytes):,.0f} / "
        f"{megabytes[-1]:,.0f} MB |",
        f"| memory, mean of the first / last {soak.window():,.0f} s | {first:,.0f} / {last:,.0f} MB "
        f"({soak.growth():+.1%}) |",
        "",
        "| kind | requests | statuses | median | p95 | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        mine = [o for o in soak.outcomes if o.kind == kind]
        seconds = [o.seconds for o in mine]
        by_status = _by_status(Counter(o.status for o in mine))
        lines.append(f"| {kind} | {len(mine):,} | {by_status} | {statistics.median(seconds) * 1000:,.0f} ms | "
                     f"{_percentile(seconds, 0.95) * 1000:,.0f} ms | {_percentile(seconds, 0.99) * 1000:,.0f} ms |")
    lines += ["", "Memory (server and query workers), sampled every second:", "", "| time | MB |", "|---|---|"]
    step = max(1, len(soak.memory) // 12)
    lines += [f"| {t:,.0f} s | {mb:,.0f} |" for t, mb in soak.memory[::step]]
    failures = soak.failures()
    if failures:
        lines += ["", "Answers outside the contract (first ten):", ""]
        lines += [f"- {o.kind}: {o.status or 'no answer'} after {o.seconds:.1f} s: {o.note}" for o in failures[:10]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0],
                                     epilog="example: python -m benchmarks.soak --seconds 10 --out /tmp/soak.md")
    parser.add_argument("--seconds", type=float, default=300, help="how long the load runs (default 300)")
    parser.add_argument("--requests", type=int, default=1_000_000,
                        help="stop after this many requests even if time is left (default 1,000,000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--documents", type=int, default=200, help="generated documents in the store (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="corpus and request mix (default 1)")
    parser.add_argument("--query-timeout", type=float, default=5.0,
                        help="the server's per-query deadline in seconds (default 5)")
    parser.add_argument("--query-workers", type=int, default=2, help="the server's query workers (default 2)")
    parser.add_argument("--store", type=Path, help="serve this store instead (built from the corpus if empty)")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="where corpora, stores and logs go")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "soak.md", help="the Markdown report")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.requests <= 0 or args.concurrency < 2:
        parser.error("--seconds and --requests must be positive and --concurrency at least 2")
    soak = run_soak(args.seconds, args.requests, args.concurrency, args.documents, args.seed, args.query_timeout,
                    args.query_workers, args.work, args.store)
    text = report(soak)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if soak.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
