"""The change feed: builds log their changes (:mod:`kgbuild.changes`), the server publishes them as an LDES
(:mod:`kgbuild.ldes`, :mod:`kgbuild.server.feed`).

The store is built by the real pipeline from copies of the bundled sources, changed build after build
(a value edited, a source added, one removed, nothing changed), and read by a small LDES client written
here: plain HTTP against a real uvicorn server on loopback, from ``/ldes`` along ``tree:view`` and
``tree:relation`` links only, every page parsed with pyoxigraph.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pyoxigraph import Literal, NamedNode, RdfFormat, Store, parse

from kgbuild import ldes
from kgbuild.changes import AS, member_iri
from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.store import StoreDirectory, open_changes
from kgbuild.vocab import DCT, KG, OWL, PROV, RDF, SD
from tests.conftest import SOURCES, copy_store
from tests.server.conftest import make_settings, running_server

BASE = "http://127.0.0.1:8000/"
LDES, TREE = ldes.LDES, ldes.TREE
KARLSTAD, MERIT, SIA, PRE_STUDY = "001_49fdefbf50581b3b.txt", "002_c5b1d8a317488e7e.txt", \
    "003_03dc92fa27c0c321.txt", "004_9880f10e1b458694.txt"
PROJECT_KINDS = {KG + "Project", KG + "PartnerSearch"}


@dataclass(frozen=True)
class Member:
    iri: str
    action: str  # Create, Update or Delete
    entity: str
    kind: str
    time: dt.datetime
    page: str


def read_feed(client: httpx.Client) -> tuple[list[Member], list[Store]]:
    """An LDES client: the stream at ``/ldes``, its view, then every page reachable by ``tree:relation``.

    Returns the members in the order the pages and their times give, and every page parsed.
    """
    start = client.get("/ldes")
    assert start.status_code == 200, start.text
    assert start.headers["content-type"].startswith("text/turtle")
    document = Store()
    document.load(start.content, format=RdfFormat.TURTLE, base_iri=str(start.url))
    streams = [q.subject for q in document.quads_for_pattern(None, NamedNode(RDF + "type"),
                                                             NamedNode(LDES + "EventStream"))]
    assert len(streams) == 1
    stream = streams[0]
    assert stream == NamedNode(BASE + "ldes")  # named under the store's base, wherever the server runs
    assert _one(document, stream, LDES + "timestampPath") == NamedNode(PROV + "generatedAtTime")
    assert _one(document, stream, LDES + "versionOfPath") == NamedNode(DCT + "isVersionOf")
    pending = [_one(document, stream, TREE + "view").value]
    seen: set[str] = set()
    members: list[Member] = []
    pages: list[Store] = []
    while pending:
        url = pending.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, (url, response.text)
        page = Store()
        page.load(response.content, format=RdfFormat.TURTLE)
        pages.append(page)
        node = NamedNode(url)
        assert any(page.quads_for_pattern(node, NamedNode(RDF + "type"), NamedNode(TREE + "Node")))
        assert any(page.quads_for_pattern(stream, NamedNode(RDF + "type"), NamedNode(LDES + "EventStream")))
        on_page: list[Member] = []
        for quad in page.quads_for_pattern(stream, NamedNode(TREE + "member"), None):
            member = quad.object
            assert isinstance(member, NamedNode)
            actions = [str(q.object.value).removeprefix(AS)
                       for q in page.quads_for_pattern(member, NamedNode(RDF + "type"), None)]
            assert len(actions) == 1, actions
            time = _one(page, member, PROV + "generatedAtTime")
            assert isinstance(time, Literal)
            on_page.append(Member(member.value, actions[0], _one(page, member, DCT + "isVersionOf").value,
                                  _one(page, member, DCT + "type").value, dt.datetime.fromisoformat(time.value), url))
            assert any(page.quads_for_pattern(_one(page, member, PROV + "wasGeneratedBy"), NamedNode(RDF + "type"),
                                              NamedNode(PROV + "Activity")))
        # A page's members are a set: in time order here. Pages come in time order too (none goes back).
        on_page.sort(key=lambda m: (m.time, m.iri))
        assert not members or not on_page or members[-1].time <= on_page[0].time
        members += on_page
        for relation in page.quads_for_pattern(node, NamedNode(TREE + "relation"), None):
            kind = _one(page, relation.object, RDF + "type").value
            assert kind == TREE + "GreaterThanOrEqualToRelation"
            assert _one(page, relation.object, TREE + "path") == NamedNode(PROV + "generatedAtTime")
            target = _one(page, relation.object, TREE + "node").value
            value = _one(page, relation.object, TREE + "value")
            assert isinstance(value, Literal)
            # The relation's promise: every member on the page it leads to is at least as recent.
            pending.append(target)
            bound = dt.datetime.fromisoformat(value.value)
            after = client.get(target)
            later = [dt.datetime.fromisoformat(q.object.value) for q in parse(after.content, format=RdfFormat.TURTLE)
                     if q.predicate.value == PROV + "generatedAtTime" and "#build-" not in q.subject.value]
            assert later and min(later) >= bound
    assert len({m.iri for m in members}) == len(members), "a member listed twice"
    return members, pages


def _one(store: Store, subject: object, predicate: str) -> NamedNode | Literal:
    values = [q.object for q in store.quads_for_pattern(subject, NamedNode(predicate), None)]  # type: ignore[arg-type]
    assert len(values) == 1, (subject, predicate, values)
    value = values[0]
    assert isinstance(value, NamedNode | Literal)
    return value


def builds(members: list[Member]) -> list[list[Member]]:
    """The members grouped by time: one group per build that changed something."""
    groups: dict[dt.datetime, list[Member]] = {}
    for member in members:
        groups.setdefault(member.time, []).append(member)
    return [groups[time] for time in sorted(groups)]


def projects(group: list[Member]) -> list[tuple[str, str]]:
    return sorted((m.action, m.entity) for m in group if m.kind in PROJECT_KINDS)


def graphs(group: list[Member]) -> list[tuple[str, str]]:
    return sorted((m.action, m.entity.removeprefix(BASE + "graph/source/")) for m in group
                  if m.kind == SD + "NamedGraph" and "/graph/source/" in m.entity)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A store built five times: three sources; one edited; one added; one removed; nothing changed."""
    root = tmp_path_factory.mktemp("ldes")
    sources, store = root / "sources", root / "kgstore"
    sources.mkdir()
    for name in (KARLSTAD, MERIT, SIA, PRE_STUDY):
        shutil.copy(SOURCES / name, sources / name)
    iris = Iris(BASE)
    paths = [sources / name for name in (KARLSTAD, MERIT, SIA)]
    assert build(paths, store, iris, workers=1).ok
    karlstad = sources / KARLSTAD
    text = karlstad.read_text(encoding="utf-8")
    karlstad.write_text(text.replace("Slutdatum:\n2025-07-31", "Slutdatum:\n2025-12-31"), encoding="utf-8")
    assert build([karlstad], store, iris, workers=1).replaced == [KARLSTAD]  # `kgbuild build` of one changed source
    assert build([sources / PRE_STUDY], store, iris, workers=1).added == [PRE_STUDY]  # `kgbuild add`
    assert build([], store, iris, remove=[MERIT], workers=1).removed  # `kgbuild remove`
    generation = StoreDirectory(store).current()
    # `build --sync` with what the store holds: nothing changed, no new generation, no member.
    report = build([sources / n for n in (KARLSTAD, SIA, PRE_STUDY)], store, iris, sync=True, workers=1)
    assert sorted(report.unchanged) == sorted([KARLSTAD, SIA, PRE_STUDY]) and not report.replaced
    assert StoreDirectory(store).current() == generation
    yield store, sources


@pytest.fixture(scope="module")
def server(history: tuple[Path, Path]) -> Iterator[httpx.Client]:
    with running_server(make_settings(history[0], query_timeout=10.0)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_the_feed_has_each_build_s_changes_in_order(server: httpx.Client, history: tuple[Path, Path]) -> None:
    members, _ = read_feed(server)
    first, edited, added, removed = builds(members)  # the no-op sync added no group
    karlstad = BASE + "id/project/22-010-S04"
    assert {action for action, _ in projects(first)} == {"Create"}
    assert len(projects(first)) == 3 and (("Create", karlstad) in projects(first))
    assert graphs(first) == sorted(("Create", n.removesuffix(".txt").replace("_", "-")) for n in (KARLSTAD, MERIT, SIA))
    assert {m.entity for m in first if m.kind == OWL + "Ontology"} == {"https://w3id.org/kgbuild/ontology",
                                                                        "https://w3id.org/kgbuild/shapes#"}
    assert projects(edited) == [("Update", karlstad)]
    assert graphs(edited) == [("Update", "001-49fdefbf50581b3b")]
    assert [action for action, _ in projects(added)] == ["Create"]
    created = projects(added)[0][1]
    assert created not in {e for _, e in projects(first)}
    assert graphs(added) == [("Create", "004-9880f10e1b458694")]
    assert [action for action, _ in projects(removed)] == ["Delete"]
    deleted = projects(removed)[0][1]
    assert deleted in {e for _, e in projects(first)} and deleted != karlstad
    assert graphs(removed) == [("Delete", "002-c5b1d8a317488e7e")]
    assert created != deleted
    assert BASE + "graph/reference" not in {m.entity for m in edited + added + removed}  # unchanged: no member
    # Times: strictly later from build to build.
    assert first[0].time < edited[0].time < added[0].time < removed[0].time
    # The member of the edit is a version of the project, named after it and its time.
    update = next(m for m in edited if m.kind in PROJECT_KINDS)
    assert update.iri == member_iri(karlstad, update.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), BASE)
    assert update.iri.startswith(karlstad + "#")
    # Built again with what it holds while the server runs: nothing changed, so nothing is added.
    store, sources = history
    assert not build([sources / KARLSTAD, sources / PRE_STUDY], store, Iris(BASE), workers=1).replaced
    assert read_feed(server)[0] == members


def test_a_deletion_is_a_tombstone(server: httpx.Client) -> None:
    members, pages = read_feed(server)
    deletion = next(m for m in members if m.action == "Delete" and m.kind in PROJECT_KINDS)
    page = next(p for p in pages if any(p.quads_for_pattern(NamedNode(deletion.iri), None, None)))
    assert not any(page.quads_for_pattern(NamedNode(deletion.iri), NamedNode(KG + "contentHash"), None))
    creation = next(m for m in members if m.entity == deletion.entity and m.action == "Create")
    assert any(page.quads_for_pattern(NamedNode(creation.iri), NamedNode(KG + "contentHash"), None)) or creation


def test_pages_follow_each_other_by_time(history: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """With pages of 4 members, the client goes through several pages along the relations; a closed page is
    immutable, the last one is revalidated; ETag and HEAD work; other formats say the same."""
    monkeypatch.setattr(ldes, "PAGE_SIZE", 4)
    with running_server(make_settings(history[0], query_timeout=10.0)) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        members, pages = read_feed(client)
        assert len(pages) == -(-len(members) // 4) > 3
        assert [m.time for m in members] == sorted(m.time for m in members)
        closed, last = client.get("/ldes/0"), client.get(f"/ldes/{len(pages) - 1}")
        assert closed.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert last.headers["cache-control"] == "public, no-cache"
        assert "immutable" not in client.get("/ldes").headers["cache-control"]
        again = client.get("/ldes/0", headers={"If-None-Match": closed.headers["etag"]})
        assert again.status_code == 304 and not again.content
        head = client.head("/ldes/1")
        assert head.status_code == 200 and not head.content
        assert head.headers["etag"] == client.get("/ldes/1").headers["etag"]
        turtle = set(parse(closed.content, format=RdfFormat.TURTLE))
        for media, fmt in (("application/n-triples", RdfFormat.N_TRIPLES), ("application/ld+json", RdfFormat.JSON_LD)):
            other = client.get("/ldes/0", headers={"Accept": media})
            assert other.headers["content-type"].startswith(media)
            if fmt == RdfFormat.JSON_LD:  # compacted with the published context, which this test does not fetch
                assert other.json()
                continue
            assert set(parse(other.content, format=fmt)) == turtle
        assert client.get(f"/ldes/{len(pages)}").status_code == 404
        assert client.get("/ldes/x").status_code == 404
        assert client.get("/ldes", headers={"Accept": "text/csv"}).status_code == 406
        stream = Store()
        stream.load(client.get("/ldes").content, format=RdfFormat.TURTLE)
        assert _one(stream, NamedNode(BASE + "ldes"), AS + "last") == NamedNode(f"{url}/ldes/{len(pages) - 1}")


def test_the_log_is_kept_and_only_grows(history: tuple[Path, Path], tmp_path: Path) -> None:
    """A later build copies the log and appends to it; a build that fails leaves it as it was."""
    store, sources = history
    copy = tmp_path / "kgstore"
    copy_store(store, copy)
    opened = open_changes(copy)
    assert opened is not None
    before = set(opened[1])
    del opened
    assert build([sources / MERIT], copy, Iris(BASE), workers=1).added == [MERIT]
    opened = open_changes(copy)
    assert opened is not None
    after = set(opened[1])
    assert before < after
    added = {q.subject.value for q in after - before if q.predicate.value == DCT + "isVersionOf"}
    assert len(added) == 2  # the source graph and its project, created again


def test_a_store_without_a_log_has_no_feed(history: tuple[Path, Path], tmp_path: Path) -> None:
    """A store last built before kgbuild kept a change log: 404, saying why."""
    copy = tmp_path / "kgstore"
    copy_store(history[0], copy)
    for log in copy.glob("gen-*.changes"):
        shutil.rmtree(log)
    with running_server(make_settings(copy)) as url:
        response = httpx.get(url + "/ldes", timeout=30)
    assert response.status_code == 404 and "change log" in response.text


def test_a_store_built_before_the_log_starts_it_with_everything(history: tuple[Path, Path], tmp_path: Path) -> None:
    """The first build that changes a store without a log records every project and graph there is, as created."""
    store, sources = history
    copy = tmp_path / "kgstore"
    copy_store(store, copy)
    for log in copy.glob("gen-*.changes"):
        shutil.rmtree(log)
    assert build([sources / MERIT], copy, Iris(BASE), workers=1).added == [MERIT]
    opened = open_changes(copy)
    assert opened is not None
    created = {q.object.value for q in opened[1].quads_for_pattern(None, NamedNode(DCT + "isVersionOf"), None)}
    names = (KARLSTAD, MERIT, SIA, PRE_STUDY)
    assert {BASE + "graph/source/" + n.removesuffix(".txt").replace("_", "-") for n in names} <= created
    assert BASE + "id/project/22-010-S04" in created
    assert len([e for e in created if "/id/" in e]) == 4  # every project, not only the one this build loaded
    assert not any(opened[1].quads_for_pattern(None, NamedNode(RDF + "type"), NamedNode(AS + "Delete")))
