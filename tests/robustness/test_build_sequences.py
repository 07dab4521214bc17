"""Sequences of builds, syncs, removals and failing builds against a model of what the store should hold.

Issue 19: a build adds (and replaces) the sources it is given; only ``sync`` and ``remove`` take
sources out; a build whose every source fails, a removal naming a source the store does not hold, and
a dry run write nothing. The model is a set of file names: added, and not removed since.

The pool is four bundled texts, one more project (SIA under another number) and one text of no known
format. No two of them state one project, and none links an organisation through another's
organisationsnummer (the partner search, which does, is left out), so each source's graph is the same
whatever else the store holds: after every step the store's source graphs must be exactly the model's,
each quad for quad as a build of the whole pool makes it, with the build graph and the merge (the
default graph) to match.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyoxigraph import DefaultGraph, NamedNode, Quad, Store

from kgbuild.errors import KgbuildError
from kgbuild.handoffs import BuildReport
from kgbuild.iris import Iris, source_key
from kgbuild.pipeline import build
from kgbuild.store import StoreDirectory, open_read_only, personal_path
from kgbuild.vocab import KG, RDF
from tests.conftest import BASE_IRI, SOURCES
from tests.robustness.conftest import examples
from tests.test_merge import merge_errors

IRIS = Iris(BASE_IRI)
VALID = ("001_49fdefbf50581b3b.txt", "002_c5b1d8a317488e7e.txt", "003_03dc92fa27c0c321.txt",
         "004_9880f10e1b458694.txt", "005_another_sia.txt")
GARBAGE = "006_garbage.txt"
POOL = (*VALID, GARBAGE)
SOURCE_PREFIX = IRIS.graph("source").value + "/"


class Reference:
    """The pool's files, and each valid source's graph and content hash as a build of the whole pool made them.

    Not a dataclass: Hypothesis prints a failing example's arguments, a dataclass field by field (all the quads).
    """

    def __init__(self, files: dict[str, Path], graphs: dict[str, frozenset[Quad]], digests: dict[str, str]) -> None:
        self.files = files
        self.graphs = graphs  # file name → quads (graph terms included)
        self.digests = digests  # file name → content hash in the build graph

    def __repr__(self) -> str:
        return f"Reference({sorted(self.files)})"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("sequences")
    files = {}
    for name in VALID[:4]:
        files[name] = root / name
        files[name].write_bytes((SOURCES / name).read_bytes())
    sia = (SOURCES / VALID[2]).read_text(encoding="utf-8")
    assert "22-005-S01" in sia
    files[VALID[4]] = root / VALID[4]
    files[VALID[4]].write_text(sia.replace("22-005-S01", "22-005-S77"), encoding="utf-8")
    files[GARBAGE] = root / GARBAGE
    files[GARBAGE].write_text("Hej!\nDet här är ingen projektsida.\n", encoding="utf-8")
    report = build([files[name] for name in VALID], root / "kgstore", IRIS)
    assert report.ok, report.failures
    store = open_read_only(root / "kgstore")
    graphs = {name: frozenset(store.quads_for_pattern(None, None, None, _graph(name))) for name in VALID}
    digests = _digests(store)
    return Reference(files, graphs, {name: digests[_graph(name).value] for name in VALID})


def _graph(name: str) -> NamedNode:
    return IRIS.graph("source", source_key(name))


def _digests(store: Store) -> dict[str, str]:
    return {q.subject.value: q.object.value
            for q in store.quads_for_pattern(None, NamedNode(KG + "contentHash"), None, IRIS.build_graph)}


# One step: what (build, sync or remove), which files, how a removal names them, and whether a dry run.
STEPS = st.tuples(st.sampled_from(["build", "sync", "remove"]),
                  st.sets(st.sampled_from(POOL), min_size=1, max_size=3),
                  st.sampled_from(["path", "file name", "graph name"]),
                  st.sampled_from([False, False, True]))


def _expected(model: frozenset[str], kind: str, names: set[str]) -> frozenset[str] | None:
    """The model after a step, or None when the step must be refused (it changes nothing)."""
    valid = names - {GARBAGE}
    if kind == "remove":
        return None if names - model else model - names
    if not valid:  # every source given fails
        return None
    return model | valid if kind == "build" else frozenset(valid)


def _run(kind: str, names: set[str], naming: str, dry_run: bool, reference: Reference, store: Path
         ) -> BuildReport | KgbuildError:
    paths = [reference.files[name] for name in sorted(names)]
    if kind != "remove":
        return build(paths, store, IRIS, sync=kind == "sync", dry_run=dry_run)
    given = {"path": [str(p) for p in paths], "file name": sorted(names),
             "graph name": [source_key(name) for name in sorted(names)]}[naming]
    try:
        return build([], store, IRIS, remove=given, dry_run=dry_run)
    except KgbuildError as exc:
        return exc


def _check_store(store_dir: Path, model: frozenset[str], reference: Reference) -> None:
    """The store holds exactly the model's sources, each as the reference build made it."""
    if StoreDirectory(store_dir).current() is None:
        assert model == frozenset()
        return
    store = open_read_only(store_dir)
    graphs = {g.value for g in store.named_graphs() if g.value.startswith(SOURCE_PREFIX)}
    assert graphs == {_graph(name).value for name in model}
    for name in model:
        assert frozenset(store.quads_for_pattern(None, None, None, _graph(name))) == reference.graphs[name], name
    recorded = {g: d for g, d in _digests(store).items() if g.startswith(SOURCE_PREFIX)}
    assert recorded == {_graph(name).value: reference.digests[name] for name in model}
    if model:
        assert merge_errors(store) == (set(), set())
    # No project twice: each is typed in exactly one source graph, and the merge holds one per source.
    typed = list(store.quads_for_pattern(None, NamedNode(RDF + "type"), NamedNode(KG + "Project")))
    in_graphs = [q.subject for q in typed if isinstance(q.graph_name, NamedNode)]
    assert len(in_graphs) == len(set(in_graphs)) == len(model)
    assert {q.subject for q in typed if q.graph_name == DefaultGraph()} == set(in_graphs)
    personal = Store.read_only(str(personal_path(StoreDirectory(store_dir).current())))  # type: ignore[arg-type]
    keys = {source_key(name) for name in model}
    assert {g.value.rsplit("/", 1)[1] for g in personal.named_graphs()} <= keys


@settings(max_examples=examples(12))
@given(steps=st.lists(STEPS, min_size=1, max_size=4))
def test_any_sequence_of_builds_syncs_and_removals_leaves_what_the_model_says(
        reference: Reference, steps: list[tuple[str, set[str], str, bool]]) -> None:
    with tempfile.TemporaryDirectory(prefix="kgbuild-sequence-") as scratch:
        store = Path(scratch) / "kgstore"
        model: frozenset[str] = frozenset()
        for kind, names, naming, dry_run in steps:
            before = StoreDirectory(store).current()
            expected = _expected(model, kind, names)
            outcome = _run(kind, names, naming, dry_run, reference, store)
            if isinstance(outcome, KgbuildError):
                assert kind == "remove" and expected is None, outcome
            else:
                assert outcome.every_source_failed == (kind != "remove" and expected is None)
                assert outcome.ok == (GARBAGE not in names or kind == "remove")
                if expected is not None:
                    assert set(outcome.replaced) == (names - {GARBAGE}) - model
                    assert set(outcome.added) == set(outcome.replaced)
                    assert set(outcome.removed) == {source_key(name) for name in model - expected}
            if expected is None or dry_run:
                assert StoreDirectory(store).current() == before  # nothing written, not even a new generation
            else:
                model = expected
            _check_store(store, model, reference)
