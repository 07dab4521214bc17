"""Export: every dump format round-trips, personal data stays out unless asked for, dumps are written
atomically, and the VoID/DCAT description counts and checksums what it describes.

Round trips compare with blank nodes canonicalised: the ontology graph has blank nodes (OWL
restrictions, lists), so both sides go into a pyoxigraph ``Dataset`` that is canonicalised with
``CanonicalizationAlgorithm.UNSTABLE`` (the same pyoxigraph on both sides, in one process) and the
two datasets are compared whole.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Store,
    parse,
)

from kgbuild.errors import KgbuildError
from kgbuild.export import EXPORT_FORMATS, dataset_description, export_quads, public_graphs, write_dumps, write_export
from kgbuild.store import open_read_only
from kgbuild.vocab import DCAT, RDF, VOID, XSD
from tests.conftest import ROOT, BundledBuild
from tests.jsonld import parse_rdf

IANA = "https://www.iana.org/assignments/media-types/"

# The contact persons the bundled texts name: none of this may leave the store by default.
PERSONAL = (
    "ann-karin.bohl@karlstad.se", "Ann-Karin Bohl", "+46545404955", "Manager of Development",
    "amina.engman.bel.haj@stockholm.se", "Amina Engman Bel-Haj", "+46850835768",
    "roger.nilsson@forshaga.se", "Roger Nilsson", "+4655212082",
)
E_MAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
CASES = [(name, gz) for name in EXPORT_FORMATS for gz in (False, True)]


@pytest.fixture(scope="module")
def store(bundled_build: BundledBuild) -> Store:
    return open_read_only(bundled_build.store)


def canonical(quads: list[Quad]) -> Dataset:
    dataset = Dataset(quads)
    dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def dump(store: Store, bundled_build: BundledBuild, directory: Path, name: str, gz: bool = False,
         include_personal: bool = False) -> bytes:
    path = directory / f"dump.{EXPORT_FORMATS[name].extension}{'.gz' if gz else ''}"
    write_export(store, bundled_build.iris, name, path, include_personal)
    data = path.read_bytes()
    assert data.startswith(b"\x1f\x8b") == gz  # gzip exactly when the name says so
    return gzip.decompress(data) if gz else data


@pytest.mark.parametrize(("name", "gz"), CASES, ids=[f"{n}{'.gz' if gz else ''}" for n, gz in CASES])
def test_every_dump_format_round_trips(store: Store, bundled_build: BundledBuild, tmp_path: Path,
                                       name: str, gz: bool) -> None:
    fmt = EXPORT_FORMATS[name]
    expected = list(export_quads(store, bundled_build.iris))
    assert any(isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode) for q in expected)
    back = parse_rdf(dump(store, bundled_build, tmp_path, name, gz), fmt.rdf_format)
    # The merge of the public graphs, a triple stated by two sources written once.
    merge = [Quad(*triple) for triple in {q.triple for q in expected}]
    assert len(merge) < len(expected)
    if fmt.keeps_graphs:  # the dataset as served: the public graphs, and their merge as the default graph
        assert len(back) == len(expected) + len(merge)
        assert {q.graph_name for q in back} == set(public_graphs(store, bundled_build.iris)) | {DefaultGraph()}
        assert canonical(back) == canonical(expected + merge)
    else:
        assert len(back) == len(merge)
        assert {q.graph_name for q in back} == {DefaultGraph()}
        assert canonical(back) == canonical(merge)


@pytest.mark.parametrize("name", list(EXPORT_FORMATS))
def test_a_default_dump_has_no_personal_data_and_an_opted_in_one_has_it(
        store: Store, bundled_build: BundledBuild, tmp_path: Path, name: str) -> None:
    public = dump(store, bundled_build, tmp_path, name, gz=True).decode("utf-8")
    assert [p for p in PERSONAL if p in public] == []
    assert E_MAIL.findall(public) == []  # nor any other e-mail address
    assert "/graph/personal/" not in public
    opted_in = open_read_only(bundled_build.store, include_personal=True)
    everything = dump(opted_in, bundled_build, tmp_path, name, include_personal=True).decode("utf-8")
    assert [p for p in PERSONAL if p not in everything] == []


def test_public_graphs_leave_out_exactly_the_personal_ones(bundled_build: BundledBuild) -> None:
    iris = bundled_build.iris
    opted_in = open_read_only(bundled_build.store, include_personal=True)
    public = {g.value for g in public_graphs(opted_in, iris)}
    everything = {g.value for g in public_graphs(opted_in, iris, include_personal=True)}
    personal = {g for g in everything if g.startswith(iris.graph("personal").value + "/")}
    assert len(personal) == 3 and everything - public == personal


def test_an_unknown_format_writes_nothing(store: Store, bundled_build: BundledBuild, tmp_path: Path) -> None:
    with pytest.raises(KgbuildError, match="unknown export format 'rdfxml'"):
        write_export(store, bundled_build.iris, "rdfxml", tmp_path / "dump.rdf")
    assert list(tmp_path.iterdir()) == []


def test_a_dump_goes_into_a_directory_that_does_not_exist_yet(
        store: Store, bundled_build: BundledBuild, tmp_path: Path) -> None:
    write_export(store, bundled_build.iris, "ntriples", tmp_path / "new" / "dump.nt")
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["dump.nt"]


FILL_THE_DISK = """
import json, resource, signal, sys
from pathlib import Path
from kgbuild.errors import KgbuildError
from kgbuild.export import write_dumps, write_export
from kgbuild.iris import Iris
from kgbuild.store import open_read_only

store, directory = open_read_only(sys.argv[1]), Path(sys.argv[2])
iris = Iris("http://127.0.0.1:8000/")
# Files may not grow past 20 kB: the dumps are far larger, so writing them fails half-way (EFBIG).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
outcome = {}
for name, file_name in (("nquads", "dump.nq"), ("turtle", "dump.ttl.gz")):
    try:
        write_export(store, iris, name, directory / file_name)
        outcome[file_name] = "written"
    except KgbuildError as exc:
        outcome[file_name] = "KgbuildError: " + str(exc)
try:
    write_dumps(store, iris, directory / "dumps", "t", "p", "http://creativecommons.org/publicdomain/zero/1.0/")
    outcome["dumps"] = "written"
except KgbuildError as exc:
    outcome["dumps"] = "KgbuildError: " + str(exc)
print(json.dumps(outcome))
"""


def test_a_dump_that_fails_half_way_leaves_nothing_behind(bundled_build: BundledBuild, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "dump.nq").write_text("the previous dump\n", encoding="utf-8")
    (out / "dumps").mkdir()
    (out / "dumps" / "SHA256SUMS").write_text("the previous dumps\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", FILL_THE_DISK, str(bundled_build.store), str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    assert set(outcome) == {"dump.nq", "dump.ttl.gz", "dumps"}
    assert all(result.startswith("KgbuildError: cannot write") for result in outcome.values()), outcome
    assert all("File too large" in result for result in outcome.values()), outcome
    # The previous dumps are untouched, and no temporary file or staging directory is left.
    assert sorted(p.name for p in out.iterdir()) == ["dump.nq", "dumps"]
    assert (out / "dump.nq").read_text(encoding="utf-8") == "the previous dump\n"
    assert sorted(p.name for p in (out / "dumps").iterdir()) == ["SHA256SUMS"]
    assert (out / "dumps" / "SHA256SUMS").read_text(encoding="utf-8") == "the previous dumps\n"


def test_write_dumps_and_the_void_dcat_description(store: Store, bundled_build: BundledBuild, tmp_path: Path) -> None:
    licence = "http://creativecommons.org/publicdomain/zero/1.0/"
    directory = tmp_path / "new" / "dumps"  # its parent does not exist yet
    written = write_dumps(store, bundled_build.iris, directory, "A title", "A publisher", licence,
                          generation="gen-000001")
    assert [p.name for p in directory.parent.iterdir()] == ["dumps"]  # no staging directory left beside it
    dumps = sorted(p.name for p in directory.glob("*.gz"))
    assert dumps == sorted(f"kgbuild.{f.extension}.gz" for f in EXPORT_FORMATS.values())
    assert {"SHA256SUMS", "void.ttl"} <= {p.name for p in directory.iterdir()}
    assert (directory / "GENERATION").read_text(encoding="utf-8") == "gen-000001\n"
    assert set(written) == set(EXPORT_FORMATS)

    sums = dict(reversed(line.split("  ")) for line in (directory / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == set(dumps)
    for file_name, digest in sums.items():
        assert hashlib.sha256((directory / file_name).read_bytes()).hexdigest() == digest
    for name, (path, digest) in written.items():
        assert path == directory / f"kgbuild.{EXPORT_FORMATS[name].extension}.gz" and sums[path.name] == digest

    public_quads = list(export_quads(store, bundled_build.iris))
    merge = {q.triple for q in public_quads}
    nquads = list(parse(gzip.decompress((directory / "kgbuild.nq.gz").read_bytes()), format=RdfFormat.N_QUADS))
    assert len(nquads) == len(public_quads) + len(merge)
    for file_name in dumps:
        text = gzip.decompress((directory / file_name).read_bytes()).decode("utf-8")
        assert [p for p in PERSONAL if p in text] == []

    void = list(parse(path=directory / "void.ttl", format=RdfFormat.TURTLE))
    dataset = NamedNode(bundled_build.iris.base + "dataset")

    def values(subject: NamedNode | BlankNode, predicate: str) -> list[object]:
        return [t.object for t in void if t.subject == subject and t.predicate == NamedNode(predicate)]

    assert values(dataset, VOID + "triples") == [  # a triple stated by several sources counts once
        Literal(str(len(merge)), datatype=NamedNode("http://www.w3.org/2001/XMLSchema#integer"))]
    subjects = {q.subject for q in public_quads}
    assert values(dataset, VOID + "distinctSubjects")[0].value == str(len(subjects))  # type: ignore[attr-defined]
    distributions = values(dataset, DCAT + "distribution")
    assert len(distributions) == len(EXPORT_FORMATS)
    media_types = set()
    for distribution in distributions:
        assert values(distribution, RDF + "type") == [NamedNode(DCAT + "Distribution")]  # type: ignore[arg-type]
        [url] = values(distribution, DCAT + "downloadURL")  # type: ignore[arg-type]
        file_name = url.value.rsplit("/", 1)[1]  # type: ignore[attr-defined]
        data = (directory / file_name).read_bytes()
        [checksum] = values(distribution, "http://spdx.org/rdf/terms#checksum")  # type: ignore[arg-type]
        assert values(checksum, "http://spdx.org/rdf/terms#algorithm") == [  # type: ignore[arg-type]
            NamedNode("http://spdx.org/rdf/terms#checksumAlgorithm_sha256")]
        assert values(checksum, "http://spdx.org/rdf/terms#checksumValue") == [  # type: ignore[arg-type]
            Literal(hashlib.sha256(data).hexdigest(), datatype=NamedNode(XSD + "hexBinary"))]
        [size] = values(distribution, DCAT + "byteSize")  # type: ignore[arg-type]
        assert int(size.value) == len(data)  # type: ignore[attr-defined]
        [media_type] = values(distribution, DCAT + "mediaType")  # type: ignore[arg-type]
        media_types.add(media_type.value.removeprefix(IANA))  # type: ignore[attr-defined]
        assert media_type.value.startswith(IANA)  # type: ignore[attr-defined]
        assert values(distribution, "http://purl.org/dc/terms/license") == [NamedNode(licence)]  # type: ignore[arg-type]
    assert media_types == {f.rdf_format.media_type for f in EXPORT_FORMATS.values()}


def test_the_description_counts_classes(store: Store, bundled_build: BundledBuild) -> None:
    triples = dataset_description(store, bundled_build.iris, "t", "p", "http://example.org/licence")
    entities = {}
    for partition in {t.object for t in triples if t.predicate == NamedNode(VOID + "classPartition")}:
        [cls] = [t.object for t in triples if t.subject == partition and t.predicate == NamedNode(VOID + "class")]
        [count] = [t.object for t in triples if t.subject == partition and t.predicate == NamedNode(VOID + "entities")]
        entities[cls.value] = int(count.value)  # type: ignore[union-attr]
    kg = "https://w3id.org/kgbuild/ontology#"
    assert entities[kg + "Project"] == 4 and entities[kg + "PartnerSearch"] == 1
    assert entities[kg + "Municipality"] == 290  # the reference data: every Swedish municipality
    assert kg + "Contact" not in entities  # contacts live only in the personal graphs


def test_dumps_swapped_in_by_several_writers_at_once_are_each_whole(tmp_path: Path) -> None:
    """Two servers of one store each make its dumps: their swaps into the one directory must not undo
    each other (this failed with "No such file or directory" before the swaps were serialised)."""
    import threading

    from kgbuild.export import _swap_in

    directory, errors = tmp_path / "dumps-public", []

    def writer(number: int) -> None:
        for turn in range(40):
            staging = tmp_path / f".dumps-{number}-{turn}"
            staging.mkdir()
            (staging / "SHA256SUMS").write_text(f"{number} {turn}\n", encoding="utf-8")
            try:
                _swap_in(staging, directory, keep_previous=True)
            except OSError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert [p.name for p in directory.iterdir()] == ["SHA256SUMS"]
    assert not [p for p in tmp_path.iterdir() if re.match(r"\.dumps-[0-9]", p.name)]  # no staging left behind
