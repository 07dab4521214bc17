"""Inputs as published (issue 21): the same text as an HTML page, a Word document and a PDF gives the same
records as the text; each value's evidence points into the file; what cannot be read is refused in one line.

Every file here is made at test time by the real tool (tests/renderings.py: a site's page template,
python-docx, fpdf2; pypdf encrypts), from texts of data/sources and tests/cases.
"""

from __future__ import annotations

import html
import io
import json
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat

from kgbuild.errors import KgbuildError, SourceError
from kgbuild.inputs import read_input, sniff
from kgbuild.iris import Iris, SourceInfo
from kgbuild.jsonld import compact_document, context_url
from kgbuild.mapping import PDF_FRAGMENT, OrganisationIdentity, map_source
from kgbuild.parsers import parse_bytes, parse_file
from kgbuild.pipeline import build
from kgbuild.records import ProjectRecord
from kgbuild.sources import source_files
from kgbuild.store import open_read_only
from kgbuild.vocab import DCT, OA, RDF
from tests.conftest import ROOT, SOURCES
from tests.jsonld import parse_rdf
from tests.renderings import FONT, render_docx, render_html, render_pdf

CASES = ROOT / "tests" / "cases"
# Texts of every layout the engine reads: a partner search in tab form, an ESF+ page of "Label:\nvalue"
# lines, merit.nu's glued labels, a project page with lists, Kohesio, a form, a fact sheet, news prose.
TEXTS = [SOURCES / "000_fa21285db760708c.txt", SOURCES / "001_49fdefbf50581b3b.txt",
         SOURCES / "002_c5b1d8a317488e7e.txt", SOURCES / "004_9880f10e1b458694.txt",
         *(CASES / name / "text.txt" for name in ("kohesio-en", "kohesio-it", "partner-search-form-de",
                                                  "interreg-factsheet-en", "news-prose-sv", "municipal-page-sv",
                                                  "call-sv", "news-two-projects", "region-page-header-sv"))]
# Those whose PDF gives the text's records: their lines fit the page, or wrap where the reader joins them.
PDF_TEXTS = [SOURCES / "001_49fdefbf50581b3b.txt",
             *(CASES / name / "text.txt" for name in (
                 "call-sv", "esfplus-slug-page-sv", "interreg-capitals", "interreg-factsheet-en", "kohesio-en",
                 "kohesio-it", "municipal-page-sv", "news-prose-sv", "news-round-and-project-sv", "news-two-projects",
                 "partner-search-erasmus-it", "partner-search-form-de", "partner-search-prose",
                 "region-page-header-sv", "samordningsforbund-prose-sv"))]
# Long texts whose PDF gives the same facts, its prose with a line break where the reader could not tell
# a wrapped line from a short one (proportional type: a line of wide letters holds fewer characters), or
# a space where the typesetter broke a word that was too long for its cell (a URL).
PDF_FACT_TEXTS = [SOURCES / "000_fa21285db760708c.txt", SOURCES / "002_c5b1d8a317488e7e.txt",
                  SOURCES / "004_9880f10e1b458694.txt"]


def _name(path: Path) -> str:
    return path.parent.name if path.name == "text.txt" else path.stem


def _records(records: tuple[ProjectRecord, ...]) -> list[dict[str, object]]:
    return [record.to_json() for record in records]


def _text_records(path: Path) -> list[dict[str, object]]:
    return _records(parse_file(path).records)


# --- the same records from every kind of file -----------------------------------------------------

@pytest.mark.parametrize("table", [False, True], ids=["dl", "table"])
@pytest.mark.parametrize("path", TEXTS, ids=_name)
def test_html_page_gives_the_records_of_its_text(path: Path, table: bool) -> None:
    page = render_html(path.read_text(encoding="utf-8"), table=table)
    result = parse_bytes(page, f"{_name(path)}.html")
    assert _records(result.records) == _text_records(path)


@pytest.mark.parametrize("path", TEXTS, ids=_name)
def test_docx_gives_the_records_of_its_text(path: Path, tmp_path: Path) -> None:
    document = render_docx(path.read_text(encoding="utf-8"), tmp_path / f"{_name(path)}.docx")
    assert _records(parse_file(document).records) == _text_records(path)


@pytest.mark.parametrize("path", PDF_TEXTS, ids=_name)
def test_pdf_gives_the_records_of_its_text(path: Path, tmp_path: Path) -> None:
    document = render_pdf(path.read_text(encoding="utf-8"), tmp_path / f"{_name(path)}.pdf")
    assert _records(parse_file(document).records) == _text_records(path)


@pytest.mark.parametrize("path", PDF_FACT_TEXTS, ids=_name)
def test_pdf_of_a_long_text_gives_its_facts(path: Path, tmp_path: Path) -> None:
    document = render_pdf(path.read_text(encoding="utf-8"), tmp_path / f"{_name(path)}.pdf")
    got, expected = _records(parse_file(document).records), _text_records(path)
    assert [{k: v for k, v in r.items() if k != "extra"} for r in got] == [
        {k: v for k, v in r.items() if k != "extra"} for r in expected]
    assert [sorted(r["extra"]) for r in got] == [sorted(r["extra"]) for r in expected]  # type: ignore[arg-type]


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-1", "utf-8"])
def test_html_page_in_the_charset_it_declares(charset: str) -> None:
    path = SOURCES / "001_49fdefbf50581b3b.txt"
    page = render_html(path.read_text(encoding="utf-8").replace("\u2013", "-"), charset=charset)
    assert _records(parse_bytes(page, "page.html").records) == _records(
        parse_bytes(path.read_text(encoding="utf-8").replace("\u2013", "-").encode(), "page.txt").records)


def test_html_page_with_a_byte_order_mark_and_no_declaration() -> None:
    path = CASES / "interreg-factsheet-en" / "text.txt"
    page = render_html(path.read_text(encoding="utf-8")).decode("utf-8").replace('<meta charset="utf-8">', "")
    for encoded in (page.encode("utf-8-sig"), page.encode("utf-16")):
        assert _records(parse_bytes(encoded, "page.html").records) == _text_records(path)


def test_html_page_that_declares_a_charset_it_is_not_in_is_read_by_its_bytes() -> None:
    path = CASES / "interreg-factsheet-en" / "text.txt"
    page = render_html(path.read_text(encoding="utf-8")).replace(b'charset="utf-8"', b'charset="us-ascii"')
    result = parse_bytes(page.replace(b"us-ascii", b"utf-8").replace("ä".encode(), b"\xe4"), "page.html")
    assert any("declares utf-8 but is not" in warning for warning in result.warnings)
    assert _records(parse_bytes(page, "page.html").records) == _text_records(path)


def test_broken_html_is_read_not_refused() -> None:
    broken = ("<html><head><title>Projekt</title><body><div class=main><h1>Värmlands Skolsamverkan"
              "<dl><dt>Berörd fond:<dd>ESF+<dt>Projektägare:<dd>KARLSTADS KOMMUN</span></i>"
              "<dt>Startdatum:<dd>2023-03-01<dt>Slutdatum:<dd>2025-07-31</dl></p></p><table><tr><td>Region:"
              "<td>Norra Mellansverige<tr><th>NUTS-2 kod:<td>SE31</table><p>Unclosed & raw < text <b>bold"
              "<!-- a comment that never ends")
    [record] = parse_bytes(broken.encode(), "broken.html").records
    assert (record.fund, record.owner_name, record.nuts_code) == ("ESF+", "KARLSTADS KOMMUN", "SE31")
    assert (str(record.start_date), str(record.end_date)) == ("2023-03-01", "2025-07-31")
    assert record.title == "Värmlands Skolsamverkan"


def test_html_chrome_is_left_out() -> None:
    page = render_html((CASES / "interreg-factsheet-en" / "text.txt").read_text(encoding="utf-8"))
    text = read_input(page, "page.html").text
    for chrome in ("Cookie Corp", "Godkänn", "Hem", "Not this one", "Box 471", "window.dataLayer", "Startsida"):
        assert chrome not in text
    assert text.startswith("Arctic Youth Pathways\n\nProgramme: Interreg Aurora\nPriority: ")


def test_an_articles_own_header_is_kept_and_a_bold_label_is_a_line() -> None:
    page = ("<body><header>Site name</header><article><header><h1>Arctic Youth Pathways</h1></header>"
            "<p><strong>Lead partner</strong> Municipality of Tor&shy;nio</p>"
            "<p><b>Total budget:</b> 1&nbsp;234&nbsp;567 EUR</p></article><footer>Cookies</footer></body>")
    text = read_input(page.encode(), "page.html").text
    assert text == ("Arctic Youth Pathways\n\nLead partner\nMunicipality of Tornio\n\n"
                    "Total budget: 1\u00a0234\u00a0567 EUR\n\n")


def test_a_table_with_a_heading_row_is_read_under_its_headings() -> None:
    """One cell a line, a heading row gave each heading the next heading as its value ("Land" → "Roll")
    and a row's cells to the heading row's labels: the owner read was the co-financier. One row under
    headings is read as "Heading: value"; several are a line each, a heading not repeated on each row."""
    page = ("<h1>Projekt Exempel</h1><p>Projektnummer: 22-010-S04</p>"
            "<table><tr><th>Partner</th><th>Land</th><th>Roll</th></tr>"
            "<tr><td>Karlstads kommun</td><td>Sverige</td><td>Projektägare</td></tr>"
            "<tr><td>Region Värmland</td><td></td><td>Medfinansiär</td></tr></table>"
            "<table><thead><tr><th>Projektägare:</th><th>Beviljat ESF-stöd</th><th>Total projektbudget</th></tr>"
            "</thead><tbody><tr><td>Karlstads kommun<td><td>2 000 000 kr</tbody></table>")
    read = read_input(page.encode(), "page.html")
    assert read.text == ("Projekt Exempel\n\nProjektnummer: 22-010-S04\n\n"
                         "Karlstads kommun; Sverige; Projektägare\nRegion Värmland; Medfinansiär\n\n"
                         "Projektägare: Karlstads kommun\nTotal projektbudget: 2 000 000 kr\n\n")
    assert read.positions is not None
    heading = read.text.index("Total projektbudget")
    assert page[slice(*read.positions.span(heading, heading + 19))] == "Total projektbudget"  # its own cell
    value = heading + len("Total projektbudget: ")
    assert page[slice(*read.positions.span(value, value + 12))] == "2 000 000 kr"
    [record] = parse_bytes(page.encode(), "page.html").records
    assert (record.title, record.project_number, record.owner_name, record.total_budget_sek) == (
        "Exempel", "22-010-S04", "Karlstads kommun", 2000000)
    assert record.granted_amount_sek is None and record.partners == ()


@pytest.mark.parametrize("table", [
    "<table><tr><th colspan=2>Partner</th><th>Land</th></tr><tr><td>A</td><td>B</td><td>Sverige</td></tr></table>",
    "<table><tr><th>Projektägare</th><td>Karlstads kommun</td></tr><tr><th>Land</th><td>Sverige</td></tr></table>",
    "<table><tr><th>Partner</th></tr><tr><td>Karlstads kommun</td></tr></table>",
    "<table><tr><th>Partner</th><th>Land</th></tr></table>",
], ids=["spanning heading", "headings in the first column", "one column", "headings over no row"])
def test_a_table_without_a_heading_row_is_read_one_cell_a_line(table: str) -> None:
    text = read_input(table.encode(), "page.html").text
    assert ": " not in text
    assert text.split() == _visible(table).split()
    assert "Partner" in text or "Projektägare" in text


# --- evidence points into the file ----------------------------------------------------------------

def _visible(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


@pytest.mark.parametrize("path", TEXTS[:4] + TEXTS[5:7], ids=_name)
def test_html_evidence_slices_the_page_to_the_value(path: Path) -> None:
    page_bytes = render_html(path.read_text(encoding="utf-8"), table=True)
    page = page_bytes.decode("utf-8")
    records = parse_bytes(page_bytes, "page.html").records
    seen = [evidence for record in records for evidence in record.evidence]
    assert seen
    for evidence in seen:
        assert evidence.origin is not None and evidence.origin.kind == "html"
        assert _visible(page[evidence.origin.start:evidence.origin.end]) == " ".join(evidence.quote.split())


def test_html_evidence_of_an_entity_covers_the_reference() -> None:
    page = "<dl><dt>Projektägare:</dt><dd>Kil &amp; Grums kommun</dd><dt>Berörd fond:</dt><dd>ESF+</dd></dl>"
    [record] = parse_bytes(page.encode(), "page.html").records
    [owner] = [e for e in record.evidence if e.key == "owner_name"]
    assert owner.quote == "Kil & Grums kommun" and owner.origin is not None
    assert page[owner.origin.start:owner.origin.end] == "Kil &amp; Grums kommun"


def test_a_finding_names_the_line_of_the_value_in_the_page_the_pdf_page_and_the_docx_paragraph(
        tmp_path: Path) -> None:
    text = (SOURCES / "003_03dc92fa27c0c321.txt").read_text(encoding="utf-8").replace(
        "Slutdatum:\n2026-01-31", "Slutdatum:\n2020-01-31")
    (tmp_path / "003_broken.html").write_bytes(render_html(text))
    render_docx(text, tmp_path / "003_broken.docx")
    for name in ("003_broken.html", "003_broken.docx"):
        done = subprocess.run([sys.executable, "-m", "kgbuild.cli", "validate", str(tmp_path / name)],
                              capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 1, done.stderr
        page = (tmp_path / name).read_bytes().decode("utf-8", "replace").split("\n")
        where = (f"line {[i for i, line in enumerate(page) if '2020-01-31' in line][0] + 1}, column 13"
                 if name.endswith(".html") else "paragraph ")
        assert f"{name}, {where}" in done.stdout + done.stderr, done.stdout + done.stderr


def test_pdf_evidence_names_the_page(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Värmlands Skolsamverkan\n\nEn sammanfattning av projektet.")
    pdf.add_page()
    pdf.multi_cell(0, 6, "Berörd fond:\nESF+\nProjektägare:\nKARLSTADS KOMMUN\nStartdatum:\n2023-03-01")
    pdf.output(str(tmp_path / "two-pages.pdf"))
    [record] = parse_file(tmp_path / "two-pages.pdf").records
    pages = {e.key: e.origin.start for e in record.evidence if e.origin is not None and e.origin.kind == "pdf"}
    assert pages["title"] == 1 and pages["fund"] == pages["owner_name"] == pages["start_date"] == 2


def test_docx_evidence_names_the_paragraph_as_xpath_counts_it(tmp_path: Path) -> None:
    from lxml import etree

    path = render_docx((SOURCES / "001_49fdefbf50581b3b.txt").read_text(encoding="utf-8"), tmp_path / "a.docx")
    [record] = parse_file(path).records
    with zipfile.ZipFile(path) as package:
        document = etree.fromstring(package.read("word/document.xml"))
    namespaces = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
    assert len(record.evidence) > 20
    for evidence in record.evidence:
        assert evidence.origin is not None and evidence.origin.kind == "docx"
        paragraphs = document.xpath(f"(//w:p)[position() >= {evidence.origin.start} and "
                                    f"position() <= {evidence.origin.end}]", namespaces=namespaces)
        text = " ".join("".join(p.xpath(".//w:t/text()", namespaces=namespaces)) for p in paragraphs)
        assert " ".join(evidence.quote.split()) in " ".join(text.split())


def test_evidence_in_the_graph_points_into_each_kind_of_document(tmp_path: Path) -> None:
    text = (CASES / "interreg-factsheet-en" / "text.txt").read_text(encoding="utf-8")
    files = {"page.html": render_html(text), "sheet.pdf": render_pdf(text, tmp_path / "s.pdf").read_bytes(),
             "sheet.docx": render_docx(text, tmp_path / "s.docx").read_bytes()}
    iris = Iris("http://example.org/")
    for name, data in files.items():
        result = parse_bytes(data, name)
        mapped = map_source(result, SourceInfo(name, "0" * 64, "2"),
                            OrganisationIdentity.from_records(result.records), iris)
        quads = mapped.quads + mapped.personal_quads
        values = {(q.predicate.value, q.object.value) for q in quads}
        selectors = {q.object.value for q in quads if q.predicate.value == RDF + "type"}
        if name.endswith(".html"):
            [fund] = [e for e in result.records[0].evidence if e.key == "fund"]
            assert fund.origin is not None
            assert (OA + "start", str(fund.origin.start)) in values and OA + "TextPositionSelector" in selectors
        elif name.endswith(".pdf"):
            assert (RDF + "value", "page=1") in values and (DCT + "conformsTo", PDF_FRAGMENT) in values
            assert OA + "FragmentSelector" in selectors and OA + "TextPositionSelector" not in selectors
        else:
            assert any(p == RDF + "value" and re.fullmatch(r"\(//w:p\)\[\d+\]", v) for p, v in values)
            assert OA + "XPathSelector" in selectors and OA + "TextPositionSelector" not in selectors
        assert (OA + "exact", "Interreg Aurora") in values
        # The JSON-LD a dump writes of them reads back as the same statements.
        triples = {q.triple for q in quads}
        document = json.dumps(compact_document(list(triples), context_url("http://example.org/"))).encode()
        assert {q.triple for q in parse_rdf(document, RdfFormat.JSON_LD)} == triples


# --- what the file is, and what is refused ---------------------------------------------------------

def test_kind_is_told_by_content(tmp_path: Path) -> None:
    text = (CASES / "interreg-factsheet-en" / "text.txt").read_text(encoding="utf-8")
    pdf = render_pdf(text, tmp_path / "a.pdf").read_bytes()
    docx = render_docx(text, tmp_path / "a.docx").read_bytes()
    assert sniff(render_html(text), "saved-page.txt") == "html"
    assert sniff(pdf, "misnamed.html") == "pdf" and sniff(docx, "download") == "docx"
    assert sniff(text.encode(), "page.txt") == "text" and sniff(b"Region: <b>X</b>", "a.txt") == "text"
    assert _records(parse_bytes(pdf, "misnamed.html").records) == _records(parse_bytes(pdf, "a.pdf").records)


def _refusal(data: bytes, name: str) -> str:
    with pytest.raises(SourceError) as caught:
        parse_bytes(data, name)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_image_only_pdf_is_refused(tmp_path: Path) -> None:
    from fpdf import FPDF
    from PIL import Image

    Image.new("RGB", (400, 200), "white").save(tmp_path / "scan.png")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(tmp_path / "scan.png"), x=10, y=10, w=190)
    pdf.output(str(tmp_path / "scan.pdf"))
    assert _refusal((tmp_path / "scan.pdf").read_bytes(), "scan.pdf") == (
        "scan.pdf: a PDF without a text layer (scanned?): kgbuild reads only text")


def test_encrypted_pdf_is_refused_and_one_only_restricted_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    path = CASES / "call-sv" / "text.txt"
    plain = render_pdf(path.read_text(encoding="utf-8"), tmp_path / "plain.pdf")
    locked, restricted = io.BytesIO(), io.BytesIO()
    for password, out in (("secret", locked), ("", restricted)):
        writer = PdfWriter(clone_from=PdfReader(plain))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
        writer.write(out)
    assert _refusal(locked.getvalue(), "locked.pdf") == (
        "locked.pdf: an encrypted PDF (it needs a password): kgbuild reads only open files")
    assert _records(parse_bytes(restricted.getvalue(), "r.pdf").records) == _text_records(path)


@pytest.mark.parametrize(("data", "name", "reason"), [
    (random.Random(21).randbytes(4096), "junk.html", "not an HTML page: "),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "photo.html", "an image (PNG): kgbuild reads only text"),
    (b"%PDF-1.7\n" + random.Random(1).randbytes(512), "broken.pdf", "a damaged PDF"),
    (b"PK\x03\x04" + bytes(64), "broken.docx", "a ZIP file, but not a Word document"),
    (b"Region: V\xe4rmland\n", "notes.pdf", "named .pdf but not a PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "old.doc", "a legacy Office file"),
    (b"<html><body><nav>Menu</nav><script>x()</script></body></html>", "empty.html", "an HTML page without text"),
], ids=["junk-html", "png", "broken-pdf", "zip", "text-pdf", "doc", "chrome-only"])
def test_what_cannot_be_read_is_refused_in_one_line(data: bytes, name: str, reason: str) -> None:
    message = _refusal(data, name)
    assert message.startswith(f"{name}: {reason}"), message


def test_damaged_documents_are_refused_in_one_line(tmp_path: Path) -> None:
    text = (CASES / "interreg-factsheet-en" / "text.txt").read_text(encoding="utf-8")
    docx = bytearray(render_docx(text, tmp_path / "a.docx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(docx))) as package:
        info = package.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 40
    docx[start:start + 64] = bytes(64)  # the deflated XML, broken
    assert _refusal(bytes(docx), "a.docx").startswith("a.docx: a damaged Word document: ")
    pdf = render_pdf(text, tmp_path / "a.pdf").read_bytes()
    broken = pdf[:len(pdf) // 2]  # cut short, as a download that stopped
    try:
        parse_bytes(broken, "cut.pdf")
    except SourceError as exc:
        assert str(exc).startswith("cut.pdf: ") and "\n" not in str(exc)


def test_parse_command_names_the_file_and_prints_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "junk.html").write_bytes(random.Random(21).randbytes(4096))
    (tmp_path / "page.html").write_bytes(render_html((CASES / "call-sv" / "text.txt").read_text(encoding="utf-8")))
    done = subprocess.run([sys.executable, "-m", "kgbuild.cli", "parse", "--json", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 1
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {tmp_path / 'junk.html'}: not an HTML page: ")
    assert "Traceback" not in done.stderr and '"document_kind"' in done.stdout


# --- sources: a directory stands for every kind; build and remove --------------------------------

def test_a_directory_stands_for_its_sources_of_every_kind(tmp_path: Path) -> None:
    for name in ("a.txt", "b.html", "c.htm", "d.pdf", "e.docx", "f.png", "g.json"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in source_files([tmp_path])] == ["a.txt", "b.html", "c.htm", "d.pdf", "e.docx"]
    (empty := tmp_path / "empty").mkdir()
    with pytest.raises(KgbuildError, match=r"no source files in this directory \(\*\.txt, \*\.html"):
        source_files([empty])


def test_build_and_remove_sources_of_every_kind(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "call.html").write_bytes(render_html((CASES / "call-sv" / "text.txt").read_text(encoding="utf-8")))
    render_docx((CASES / "interreg-factsheet-en" / "text.txt").read_text(encoding="utf-8"), pages / "sheet.docx")
    render_pdf((CASES / "municipal-page-sv" / "text.txt").read_text(encoding="utf-8"), pages / "Municipal.pdf")
    iris = Iris("http://example.org/")
    report = build(source_files([pages]), tmp_path / "store", iris, workers=1)
    assert report.ok, report.failures
    assert sorted(report.added) == ["Municipal.pdf", "call.html", "sheet.docx"]
    graphs = {g.value for g in open_read_only(tmp_path / "store").named_graphs()}
    assert {iris.source_graph(SourceInfo(n, "", "")).value for n in ("call.html", "sheet.docx", "Municipal.pdf")} \
        <= graphs
    report = build([], tmp_path / "store", iris, remove=["sheet.docx", "municipal"], workers=1)
    assert report.ok and sorted(report.removed) == ["municipal", "sheet"]  # by graph name


def test_a_fetched_page_is_read_as_html_and_derived_from_its_url(tmp_path: Path) -> None:
    import hashlib

    from kgbuild.sidecar import PageRecord, write_sidecar
    from kgbuild.sources import read_sources

    page = tmp_path / "www-esf-se-projekt-a-0123456789.html"
    data = render_html((CASES / "call-sv" / "text.txt").read_text(encoding="utf-8"))
    page.write_bytes(data)
    url = "https://www.esf.se/projekt/a"
    write_sidecar(page, PageRecord(url, url, "2026-12-07T20:00:00Z", 200, None, None, "text/html; charset=utf-8",
                                   hashlib.sha256(data).hexdigest(), len(data), page.name))
    assert [p.name for p in source_files([tmp_path])] == [page.name]  # the record is not a source
    [(info, result)], failures = read_sources(source_files([tmp_path]))
    assert failures == [] and info.url == url
    expected = [dict(r, source_url=url) for r in _text_records(CASES / "call-sv" / "text.txt")]
    assert _records(result.records) == expected
