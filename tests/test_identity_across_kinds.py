"""One project described by two kinds of page (issue 19.3): an ESF+ record and a Kohesio-style page
that states the same project number are one project IRI; each page keeps its own graph.

Where the two pages share no stated key (a Kohesio page without the project number, its title in
English), kgbuild does not join them: that would be a guess (see the README's identity rules).
"""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import NamedNode

from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.sources import default_sources
from kgbuild.store import open_read_only

IRIS = Iris("http://127.0.0.1:8000/")
KOHESIO_PAGE = Path(__file__).parent / "data" / "sources" / "kohesio-22-010-S04.txt"
PROJECT = IRIS.id("project", "22-010-S04")
PROV = "http://www.w3.org/ns/prov#"


def test_an_esf_plus_record_and_a_kohesio_page_of_one_project_are_one_iri(tmp_path: Path) -> None:
    store_dir = tmp_path / "kgstore"
    report = build([*default_sources(), KOHESIO_PAGE], store_dir, IRIS)
    assert report.ok, report.failures
    store = open_read_only(store_dir)
    projects = {row["p"].value for row in store.query(
        "SELECT DISTINCT ?p WHERE { ?p a <https://w3id.org/kgbuild/ontology#Project> }")}
    assert len(projects) == 4  # the bundled corpus's four projects: the Kohesio page adds none
    assert PROJECT.value in projects
    sources = {q.object.value for q in store.quads_for_pattern(PROJECT, NamedNode(PROV + "wasDerivedFrom"), None)}
    assert sources == {IRIS.id("source", "001-49fdefbf50581b3b").value,
                       IRIS.id("source", "kohesio-22-010-s04").value}
    # Each page's statements stay in its own graph: the EUR contribution in the Kohesio page's.
    kohesio_graph = IRIS.graph("source", "kohesio-22-010-s04")
    granted = list(store.quads_for_pattern(PROJECT, NamedNode("https://w3id.org/kgbuild/ontology#grantedAmount"),
                                           None, kohesio_graph))
    assert len(granted) == 1
