"""A remote store's failure modes: incremental rebuilds, a store stopped mid-build, credentials, personal
data, refused queries, the deadline and the size bound. All against a real ``oxigraph serve`` (behind a
recording proxy where requests are counted), and Virtuoso for Digest credentials."""

from __future__ import annotations

import base64
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from kgbuild.errors import KgbuildError
from kgbuild.iris import Iris, source_key
from kgbuild.pipeline import build
from kgbuild.prepare import prepare_sources
from kgbuild.remote import Credentials, Remote, RemoteError
from kgbuild.server.remote_pool import check_serving
from kgbuild.sources import default_sources
from kgbuild.store import open_read_only
from tests.conftest import BASE_IRI, BundledBuild
from tests.remote.conftest import OxigraphServer, Proxy, Seen, oxigraph
from tests.server.conftest import make_settings, running_server

IRIS = Iris(BASE_IRI)
PERSONAL = IRIS.graph("personal").value + "/"
SECRET = "s3cret-Pa55-never-shown"


def _kgbuild(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KGBUILD_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "kgbuild.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=120)


def _corpus(tmp: Path) -> Path:
    target = tmp / "sources"
    target.mkdir()
    for path in default_sources():
        shutil.copy(path, target / path.name)
    return target


def test_an_unchanged_rebuild_sends_no_graph_and_a_change_sends_only_its_graph(
        oxigraph_store: OxigraphServer, tmp_path: Path) -> None:
    proxy = Proxy(oxigraph_store.url.removesuffix("/query"))
    sources = _corpus(tmp_path)
    try:
        with Remote(proxy.url("/query")) as remote:
            first = build(sorted(sources.glob("*.txt")), remote, IRIS)
            assert first.ok
            # every source graph, the ontology, the reference data, and the build graph last
            puts = proxy.puts()
            assert len(puts) == len(default_sources()) + 3 and puts[-1] == IRIS.build_graph.value
            proxy.seen.clear()
            again = build(sorted(sources.glob("*.txt")), remote, IRIS)
            assert again.replaced == [] and len(again.unchanged) == len(default_sources())
            assert proxy.puts() == [] and not [s for s in proxy.seen if s.method == "DELETE"]
            changed = sorted(sources.glob("*.txt"))[1]
            changed.write_bytes(changed.read_bytes().replace("Värmlands Skolsamverkan".encode(),
                                                             "Värmlands Skolsamverkan 2".encode()))
            third = build(sorted(sources.glob("*.txt")), remote, IRIS)
            assert third.replaced == [changed.name]
            assert proxy.puts() == [IRIS.graph("source", "001-49fdefbf50581b3b").value, IRIS.build_graph.value]
            proxy.seen.clear()
            changed.unlink()
            fourth = build(sorted(sources.glob("*.txt")), remote, IRIS, sync=True)
            assert fourth.removed == ["001-49fdefbf50581b3b"]
            deleted = [s.graph for s in proxy.seen if s.method == "DELETE"]
            assert deleted == [IRIS.graph("source", "001-49fdefbf50581b3b").value]
            # (an organisation's identity is corpus-wide: another source may change with the removal)
            assert len(proxy.puts()) == len(fourth.replaced) + 1 and proxy.puts()[-1] == IRIS.build_graph.value
    finally:
        proxy.close()


def _graph_sets(remote: Remote) -> dict[str, set[str]]:
    prefix = IRIS.graph("source").value + "/"
    return {graph: {str(t) for t in remote.get_graph(graph)} for graph in remote.graphs_under(prefix)}


def test_a_store_stopped_mid_build_is_a_clear_error_and_the_next_build_completes(tmp_path: Path) -> None:
    expected = {p.graph: {line.rsplit(" <", 1)[0] for line in p.nquads.decode().splitlines()}
                for p in prepare_sources(default_sources(), IRIS)[0]}
    with oxigraph(tmp_path) as store:
        puts: list[str] = []

        def stop_mid_build(seen: Seen) -> None:
            # Stopped at a source's PUT once another source's PUT was answered (PUTs run four at a time):
            # some graphs are then on the store and others are not.
            if seen.method == "PUT" and "/graph/source/" in seen.graph:
                puts.append(seen.graph)
                answered = [s for s in proxy.answered if s.method == "PUT" and "/graph/source/" in s.graph]
                if len(puts) >= 3 and answered and not stopped:
                    stopped.append(seen.graph)
                    store.stop()

        stopped: list[str] = []
        proxy = Proxy(store.url.removesuffix("/query"), on_request=stop_mid_build)
        try:
            result = _kgbuild("build", "--store", proxy.url("/query"), "--store-retries", "2")
            assert result.returncode == 1, result.stderr
            message = result.stderr.strip().splitlines()[-1]
            assert message.startswith(f"error: remote store {proxy.url('/query')}: PUT <"), result.stderr
            assert "connection" in message and "after 3 tries" in message, message
            assert "Traceback" not in result.stderr
            # The store comes back on the same data: each graph there is wholly new (none half-written) ...
            proxy.on_request = None
            proxy.target = store.start().removesuffix("/query")
            with Remote(proxy.url("/query")) as remote:
                there = _graph_sets(remote)
                assert there and set(there) < set(expected)
                for graph, triples in there.items():
                    assert {t.rstrip(" .") for t in triples} == {t.rstrip(" .") for t in expected[graph]}, graph
                assert not remote.get_graph(IRIS.build_graph.value)  # never written: the build died before it
            # ... and the next build completes.
            result = _kgbuild("build", "--store", proxy.url("/query"))
            assert result.returncode == 0, result.stderr
            with Remote(proxy.url("/query")) as remote:
                assert set(_graph_sets(remote)) == set(expected)
        finally:
            proxy.close()


def test_credentials_never_appear_in_output(oxigraph_store: OxigraphServer, virtuoso: str) -> None:
    # In the URL: refused, and not echoed.
    url = oxigraph_store.url.replace("http://", f"http://admin:{SECRET}@")
    result = _kgbuild("build", "--store", url)
    assert result.returncode == 1 and "KGBUILD_STORE_PASSWORD" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    # A wrong password: the store's refusal, named with its status, without the password.
    result = _kgbuild("build", "--store", virtuoso, env={"KGBUILD_STORE_USER": "dba", "KGBUILD_STORE_PASSWORD": SECRET})
    assert result.returncode == 1
    assert f"error: remote store {virtuoso}: " in result.stderr and "401" in result.stderr, result.stderr
    assert SECRET not in result.stderr + result.stdout
    # A store that takes no credentials ignores them; they are not shown either.
    result = _kgbuild("build", "--store", oxigraph_store.url,
                      env={"KGBUILD_STORE_USER": "admin", "KGBUILD_STORE_PASSWORD": SECRET})
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert SECRET not in repr(Credentials("admin", SECRET))


def test_personal_graphs_stay_off_the_remote_unless_the_operator_opts_in(oxigraph_store: OxigraphServer) -> None:
    with Remote(oxigraph_store.url) as remote:
        assert build(default_sources(), remote, IRIS).ok
        assert remote.graphs_under(PERSONAL) == []
        assert not remote.ask('ASK { ?s <http://www.w3.org/2006/vcard/ns#hasEmail> ?o }')
        check_serving(remote, IRIS, include_personal=False)
        # Opting in sends them (every source again: what is published changed) ...
        report = build(default_sources(), remote, IRIS, include_personal=True)
        assert len(report.replaced) == len(default_sources())
        assert remote.graphs_under(PERSONAL)
        # ... and a server that did not opt in refuses to front such a store.
        with pytest.raises(KgbuildError, match="personal-data graphs"):
            check_serving(remote, IRIS, include_personal=False)
        # A build without the option deletes them again.
        report = build(default_sources(), remote, IRIS)
        assert remote.graphs_under(PERSONAL) == []
        assert any("personal-data graph" in w for w in report.warnings)


def test_a_store_without_a_union_default_graph_is_refused(tmp_path: Path) -> None:
    with oxigraph(tmp_path, union=False) as store, Remote(store.url) as remote:
        assert build(default_sources()[:1], remote, IRIS).ok
        with pytest.raises(KgbuildError, match="union-default-graph"):
            check_serving(remote, IRIS, include_personal=False)


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``kgbuild serve`` in front of a proxy in front of an Oxigraph server holding the bundled corpus."""
    with oxigraph(tmp_path_factory.mktemp("oxigraph")) as store:
        with Remote(store.url) as remote:
            assert build(default_sources(), remote, IRIS).ok
        proxy = Proxy(store.url.removesuffix("/query"))
        settings = make_settings(proxy.url("/query"), query_timeout=1.5, max_result_bytes=2_500_000,  # type: ignore[arg-type]
                                 dumps_dir=str(tmp_path_factory.mktemp("dumps")))
        try:
            with running_server(settings) as url:
                yield url, proxy
        finally:
            proxy.close()


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
    "INSERT DATA { <http://a> <http://b> <http://c> }",
])
def test_a_refused_query_never_reaches_the_remote(proxied_server: tuple[str, Proxy], query: str) -> None:
    url, proxy = proxied_server
    before = len(proxy.seen)
    response = httpx.post(url + "/sparql", data={"query": query}, timeout=10)
    assert response.status_code in (400, 403), response.text
    marker = "SERVICE" if "SERVICE" in query else "INSERT"
    assert not [s for s in proxy.seen[before:] if marker.encode() in s.body]


def test_the_size_bound_and_the_deadline_hold_in_front_of_a_remote(proxied_server: tuple[str, Proxy],
                                                                   tmp_path: Path) -> None:
    url, proxy = proxied_server
    # The same remote with a deadline no loaded machine reaches: only the size bound is under test here.
    roomy = make_settings(proxy.url("/query"), query_timeout=120, max_result_bytes=2_500_000,  # type: ignore[arg-type]
                          dumps_dir=str(tmp_path / "dumps"))
    with running_server(roomy) as roomy_url:
        # Past what is sent whole (1 MiB), within the bound: streamed, every row.
        response = httpx.post(roomy_url + "/sparql", data={"query": "SELECT * { ?s ?p ?o } LIMIT 7000"},
                              timeout=120, headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200 and "content-length" not in response.headers
        assert len(response.json()["results"]["bindings"]) == 7000
        # Past the bound: begun, then aborted, never a short answer that ends well.
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(roomy_url + "/sparql", data={"query": "SELECT * { ?s ?p ?o }"}, timeout=120,
                       headers={"Accept": "application/sparql-results+json"})
    graph = httpx.post(url + "/sparql", data={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 5"}, timeout=10,
                       headers={"Accept": "application/n-triples"})
    assert graph.status_code == 200 and len(graph.text.strip().splitlines()) == 5
    started = time.monotonic()
    slow = httpx.post(url + "/sparql", timeout=30, data={
        "query": "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"})
    assert slow.status_code == 503 and "deadline" in slow.text
    assert time.monotonic() - started < 5
    # and the server still answers
    assert httpx.post(url + "/sparql", data={"query": "ASK { ?s ?p ?o }"}, timeout=10).status_code == 200


def test_linked_data_void_and_dumps_in_front_of_a_remote(proxied_server: tuple[str, Proxy]) -> None:
    url, _ = proxied_server
    page = httpx.get(url + "/id/organisation/municipality/1780", headers={"Accept": "text/turtle"}, timeout=10)
    assert page.status_code == 200 and "2120001850" in page.text
    assert httpx.get(url + "/id/organisation/nothing-here", timeout=10).status_code == 404
    deadline = time.monotonic() + 60
    while (dumps := httpx.get(url + "/dumps/", headers={"Accept": "application/json"}, timeout=10)).status_code != 200:
        assert time.monotonic() < deadline, dumps.text
        time.sleep(0.2)
    names = {f["name"] for f in dumps.json()["files"]}
    assert {"kgbuild.nq.gz", "kgbuild.ttl.gz", "SHA256SUMS", "void.ttl"} <= names
    void = httpx.get(url + "/.well-known/void", timeout=10)
    assert void.status_code == 200 and "void:triples" in void.text


def test_an_unreachable_remote_is_a_clear_error(tmp_path: Path) -> None:
    with oxigraph(tmp_path) as store:
        url = store.url
    result = _kgbuild("build", "--store", url, "--store-retries", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: remote store {url}: ")
    assert "cannot connect" in result.stderr
    with pytest.raises(RemoteError), Remote(url, retries=0) as remote:
        remote.ask("ASK {}")


def test_query_and_export_commands_read_a_remote_store(oxigraph_store: OxigraphServer,
                                                       bundled_build: BundledBuild) -> None:
    with Remote(oxigraph_store.url) as remote:
        assert build(default_sources(), remote, IRIS).ok
    query = str(Path(__file__).parents[2] / "queries" / "granted-by-nuts2.rq")
    remote_csv = _kgbuild("query", "--store", oxigraph_store.url, "--file", query, "--format", "csv")
    embedded_csv = _kgbuild("query", "--store", str(bundled_build.store), "--file", query, "--format", "csv")
    assert remote_csv.returncode == 0 and remote_csv.stdout == embedded_csv.stdout != ""
    remote_dump = _kgbuild("export", "--store", oxigraph_store.url, "--format", "nquads")
    embedded_dump = _kgbuild("export", "--store", str(bundled_build.store), "--format", "nquads")
    assert remote_dump.returncode == 0
    # The same quads, but for the build graph's timestamps (each build records its own; in the merge too)
    # and blank-node labels.
    def stable(dump: str) -> set[str]:
        lines = dump.splitlines()
        records = {line.rsplit(" <", 1)[0] for line in lines if line.endswith("/graph/build> .")}
        return {line for line in lines if "/graph/build>" not in line and "_:" not in line
                and line.removesuffix(" .") not in records}

    assert stable(remote_dump.stdout) == stable(embedded_dump.stdout)
    assert len(remote_dump.stdout.splitlines()) == len(embedded_dump.stdout.splitlines())
    refused = _kgbuild("validate", "--store", oxigraph_store.url)
    assert refused.returncode == 1 and "embedded store directory" in refused.stderr


class _Guarded(http.server.BaseHTTPRequestHandler):
    """A Graph Store that wants Basic credentials: 401 with a challenge, 204 with the right ones."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_DELETE(self) -> None:
        given = self.headers.get("authorization", "")
        type(self).seen.append(given)
        if given in (f"Basic {base64.b64encode(f'admin:{SECRET}'.encode()).decode()}", "Bearer t0ken"):
            self.send_response(204)
        else:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="store"')
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_basic_credentials_are_sent_only_when_challenged_and_a_token_always() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/query"
    try:
        with Remote(url, credentials=Credentials("admin", SECRET), retries=0) as remote:
            remote.delete_graph("http://example.org/g1")
            remote.delete_graph("http://example.org/g2")
        assert _Guarded.seen[0] == "" and _Guarded.seen[1].startswith("Basic ") and _Guarded.seen[2] == _Guarded.seen[1]
        _Guarded.seen.clear()
        with Remote(url, credentials=Credentials(token="t0ken"), retries=0) as remote:
            remote.delete_graph("http://example.org/g1")
        assert _Guarded.seen == ["Bearer t0ken"]
        with Remote(url, credentials=Credentials("admin", "wrong"), retries=0) as remote, \
                pytest.raises(RemoteError, match=f"remote store {url}: DELETE .*401") as refused:
            remote.delete_graph("http://example.org/g1")
        assert "wrong" not in str(refused.value)
    finally:
        server.shutdown()
        server.server_close()


def test_a_running_server_stops_answering_when_a_build_puts_personal_data_on_the_remote(
        oxigraph_store: OxigraphServer, tmp_path: Path) -> None:
    with Remote(oxigraph_store.url) as remote:
        assert build(default_sources(), remote, IRIS).ok
    settings = make_settings(oxigraph_store.url, dumps_dir=str(tmp_path / "dumps"))  # type: ignore[arg-type]
    with running_server(settings) as url:
        ask = {"query": "ASK { ?s ?p ?o }"}
        assert httpx.post(url + "/sparql", data=ask, timeout=10).status_code == 200
        with Remote(oxigraph_store.url) as remote:
            build(default_sources(), remote, IRIS, include_personal=True)
        deadline = time.monotonic() + 20
        while (answer := httpx.post(url + "/sparql", data=ask, timeout=10)).status_code == 200:
            assert time.monotonic() < deadline, "still answering over personal data"
            time.sleep(0.2)
        assert answer.status_code == 503 and "personal-data graphs" in answer.text
        with Remote(oxigraph_store.url) as remote:
            build(default_sources(), remote, IRIS)
        deadline = time.monotonic() + 20
        while httpx.post(url + "/sparql", data=ask, timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "did not answer again once the personal graphs were gone"
            time.sleep(0.2)


def _said(stderr: str, store: str) -> list[str]:
    """What a build said, with where it wrote (a store directory's generation, or the remote's URL) left out."""
    where = rf"(remote store )?{re.escape(store)}(/gen-\d{{6}})?"
    return [re.sub(where, "STORE", line) for line in stderr.splitlines()]


def test_builds_add_and_removal_is_explicit_on_a_remote_as_on_the_embedded_store(
        oxigraph_store: OxigraphServer, tmp_path: Path) -> None:
    """Issue 19, each step run by the real command on both stores: the same exit, the same words, and
    then the same source graphs, triple for triple."""
    embedded = tmp_path / "kgstore"
    pages = tmp_path / "my-pages"
    pages.mkdir()
    sia = next(p for p in default_sources() if p.name.startswith("003_"))
    (pages / "my-page.txt").write_text(sia.read_text(encoding="utf-8").replace("22-005-S01", "22-005-S42"),
                                       encoding="utf-8")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("Hej!\nDet här är ingen projektsida.\n", encoding="utf-8")
    karlstad = str(default_sources()[1])
    bundled = [source_key(p.name) for p in default_sources()]
    mine = [*bundled, "my-page"]
    kept = [key for key in bundled if not key.startswith("002-")]
    steps: list[tuple[tuple[str, ...], int, list[str]]] = [  # (arguments, exit code, the sources afterwards)
        (("build",), 0, bundled),
        (("build", str(pages)), 0, mine),
        (("build", str(garbage)), 1, mine),
        (("build", "--sync", "/nonexistent/file.txt"), 1, mine),
        (("build", "--sync", "--dry-run", karlstad), 0, mine),
        (("remove", "--dry-run", "my-page.txt"), 0, mine),
        (("remove", "my-page", "002_c5b1d8a317488e7e.txt"), 0, kept),
        # Karlstad's record states the number of the municipality the partner search (000, kept) names:
        # the municipality's organisation keeps its IRI (issue 19.4), so nothing is relinked.
        (("remove", karlstad), 0, kept[:1] + kept[2:]),
        (("remove", "no-such-page.txt"), 1, kept[:1] + kept[2:]),
        (("build", "--sync", karlstad, str(garbage)), 1, ["001-49fdefbf50581b3b"]),
    ]
    prefix = IRIS.graph("source").value + "/"
    for arguments, code, sources in steps:
        here = _kgbuild(*arguments, "--store", str(embedded))
        there = _kgbuild(*arguments, "--store", oxigraph_store.url)
        assert (here.returncode, there.returncode) == (code, code), (arguments, here.stderr, there.stderr)
        assert "Traceback" not in here.stderr + there.stderr
        assert _said(here.stderr, str(embedded)) == _said(there.stderr, oxigraph_store.url), arguments
        if arguments == ("remove", karlstad):
            assert "organisation identities changed" not in here.stderr + there.stderr
        with Remote(oxigraph_store.url) as remote:
            remote_graphs = _graph_sets(remote)
        store = open_read_only(embedded)
        embedded_graphs = {g.value: {str(q.triple) for q in store.quads_for_pattern(None, None, None, g)}
                           for g in store.named_graphs() if g.value.startswith(prefix)}
        assert sorted(g.removeprefix(prefix) for g in embedded_graphs) == sources, arguments
        assert remote_graphs == embedded_graphs, arguments
