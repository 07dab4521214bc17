"""The default graph a query sees is the RDF merge of the named graphs: a triple stated by several
sources is there once, after a first build and after every change (:mod:`kgbuild.merge`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pyoxigraph import DefaultGraph, NamedNode, QuerySolutions, Store, Triple

from kgbuild.pipeline import build
from kgbuild.query import Dataset, execute
from kgbuild.sources import default_sources
from kgbuild.store import StoreDirectory, open_read_only
from kgbuild.vocab import DCT
from tests.conftest import BundledBuild, copy_store


def merge_errors(store: Store) -> tuple[set[Triple], set[Triple]]:
    """What the default graph lacks of the named graphs' triples, and what it holds beyond them."""
    default, named = set(), set()
    for quad in store:
        (default if quad.graph_name == DefaultGraph() else named).add(quad.triple)
    assert named
    return named - default, default - named


def shared_triples(store: Store) -> dict[Triple, int]:
    """Triples that several named graphs state, with how many."""
    graphs: dict[Triple, int] = {}
    for quad in store:
        if isinstance(quad.graph_name, NamedNode):
            graphs[quad.triple] = graphs.get(quad.triple, 0) + 1
    return {triple: count for triple, count in graphs.items() if count > 1}


def test_the_default_graph_is_the_merge_of_the_public_graphs(bundled_build: BundledBuild) -> None:
    assert merge_errors(open_read_only(bundled_build.store)) == (set(), set())
    # The operator's copy with the personal graphs merges them too.
    assert merge_errors(open_read_only(bundled_build.store, include_personal=True)) == (set(), set())


def test_a_triple_stated_by_several_sources_counts_once(bundled_build: BundledBuild) -> None:
    store = open_read_only(bundled_build.store)
    shared = shared_triples(store)
    source_graphs = bundled_build.iris.graph("source").value + "/"
    triple = next(t for t in shared if all(q.graph_name.value.startswith(source_graphs)  # type: ignore[union-attr]
                                           for q in store.quads_for_pattern(*t) if q.graph_name != DefaultGraph()))
    assert shared[triple] >= 2
    pattern = " ".join(str(term) for term in triple)
    result = execute(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}", Dataset(union=True))
    assert isinstance(result, QuerySolutions)
    assert [row["n"].value for row in result] == ["1"]  # type: ignore[union-attr]


def test_changed_and_removed_sources_keep_the_merge_exact(bundled_build: BundledBuild, tmp_path: Path) -> None:
    store_dir = copy_store(bundled_build.store, tmp_path / "kgstore")
    sources = tmp_path / "sources"
    sources.mkdir()
    paths = [Path(shutil.copy(p, sources / p.name)) for p in default_sources()]
    before = open_read_only(store_dir)
    shared_before = shared_triples(before)
    removed, changed = paths[2], paths[3]
    gone = {q.triple for q in before.quads_for_pattern(None, None, None,
                                                      bundled_build.iris.graph("source", _key(removed)))}
    del before
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text.replace("Namn:\n", "Namn:\nNy titel: ", 1), encoding="utf-8")
    report = build([p for p in paths if p != removed], store_dir, bundled_build.iris, sync=True)
    assert report.ok and report.removed == [_key(removed)] and report.replaced == [changed.name]
    after = open_read_only(store_dir)
    assert merge_errors(after) == (set(), set())
    # What only the removed source stated left the merge; what others state too stayed.
    stated = {q.triple for q in after if q.graph_name == DefaultGraph()}
    assert {t for t in gone if t not in shared_before} & stated == set()
    assert {t for t in gone if t in shared_before} <= stated and any(t in shared_before for t in gone)


def test_a_store_built_before_the_merge_is_queried_as_a_union_and_merged_by_the_next_build(
        bundled_build: BundledBuild, tmp_path: Path) -> None:
    store_dir = copy_store(bundled_build.store, tmp_path / "kgstore")
    generation = StoreDirectory(store_dir).current()
    older = Store(str(generation))
    older.remove_graph(DefaultGraph())  # clears it: as kgbuild wrote stores before it kept the merge
    older.flush()  # into its files, which the operator's copy is made from
    del older
    shutil.rmtree(generation.with_name(generation.name + ".full"), ignore_errors=True)  # made again on use
    for include_personal in (False, True):  # the operator's copy with the personal graphs, too
        store = open_read_only(store_dir, include_personal)
        titles = execute(store, f"SELECT DISTINCT ?t WHERE {{ ?p <{DCT}title> ?t }}", Dataset(union=True))
        assert len(list(titles)) >= 4  # type: ignore[arg-type]
        del store

    sources = tmp_path / "sources"
    sources.mkdir()
    paths = [Path(shutil.copy(p, sources / p.name)) for p in default_sources()]
    paths[0].write_text(paths[0].read_text(encoding="utf-8") + "\n", encoding="utf-8")
    report = build(paths, store_dir, bundled_build.iris)
    assert report.ok and report.replaced == [paths[0].name]
    assert merge_errors(open_read_only(store_dir)) == (set(), set())


def _key(path: Path) -> str:
    return path.name.removesuffix(".txt").replace("_", "-")


def test_a_blank_node_is_one_node_in_its_graph_and_in_the_merge() -> None:
    from kgbuild.merge import MergeKeeper

    store = Store()
    keeper = MergeKeeper(store)
    keeper.load(b'_:amount <https://schema.org/value> "5" <urn:g> .\n<urn:p> <urn:q> _:amount <urn:g> .\n', "urn:g")
    keeper.settle()
    assert merge_errors(store) == (set(), set()) and len(store) == 4
    keeper.remove_graph(NamedNode("urn:g"))
    keeper.settle()
    assert len(store) == 0
