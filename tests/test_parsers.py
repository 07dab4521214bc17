"""The parsers: golden records for the bundled texts, and the variants real pages come in."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from kgbuild.errors import SourceError
from kgbuild.parsers import parse_bytes, parse_file, parse_text
from tests.conftest import GOLDEN, REGEN_GOLDEN, SOURCES

SOURCE_FILES = sorted(SOURCES.glob("*.txt"))


@pytest.mark.parametrize("path", SOURCE_FILES, ids=lambda p: p.stem)
def test_golden_records(path: Path) -> None:
    golden = GOLDEN / "parse" / f"{path.stem}.json"
    got = [record.to_json() for record in parse_file(path).records]
    got = json.loads(json.dumps(got, ensure_ascii=False))
    if REGEN_GOLDEN:
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert len(got) == len(expected)
    for got_record, expected_record in zip(got, expected, strict=True):
        missing = {k: v for k, v in expected_record.items() if k not in got_record}
        extra = {k: v for k, v in got_record.items() if k not in expected_record}
        differ = {k: (got_record[k], v) for k, v in expected_record.items() if k in got_record and got_record[k] != v}
        assert not (missing or extra or differ), f"missing={missing}\nextra={extra}\ndiffer(got, expected)={differ}"


def test_golden_values_that_matter_most() -> None:
    """Independent of the golden files: the facts a researcher queries, checked by hand."""
    [karlstad] = parse_file(SOURCES / "001_49fdefbf50581b3b.txt").records
    assert karlstad.project_number == "22-010-S04"
    assert karlstad.owner_org_number == "2120001850"
    assert karlstad.eu_cofinancing_rate == Decimal("0.6")
    assert (karlstad.start_date, karlstad.end_date) == (dt.date(2023, 3, 1), dt.date(2025, 7, 31))
    assert (karlstad.nuts_code, karlstad.participants, karlstad.child_poverty_theme) == ("SE31", 1600, False)
    [merit] = parse_file(SOURCES / "002_c5b1d8a317488e7e.txt").records
    assert (merit.granted_amount_sek, merit.total_budget_sek) == (Decimal(13857478), Decimal(34407757))
    assert merit.contact_phone == "+46850835768"
    assert "Skarpnäcks stadsdelsförvaltnin" in merit.co_financiers  # cut short by the source: kept so
    assert len(merit.co_financiers) == 14 and len(merit.partners) == 9 and merit.municipalities == ("Stockholm",)
    [klar] = parse_file(SOURCES / "004_9880f10e1b458694.txt").records
    assert len(klar.municipalities) == 45 and "Malung" in klar.municipalities
    assert klar.title == 'Förprojekt "Utvecklad Samverkan i Klarälvdalen"'
    [call] = parse_file(SOURCES / "000_fa21285db760708c.txt").records
    assert (call.fund, call.deadline, call.period_text) == ("Leonardo da Vinci", dt.date(2013, 2, 21), "2013-2015")
    assert call.start_date is None and call.end_date is None  # year ranges stay years
    assert call.owner_name == "Municipality of Karlstad"
    assert call.keywords[0] == "Child poverty" and len(call.keywords) == 6


ESF_PLUS_FIELDS = [
    ("Berörd fond:", "ESF+"), ("Program CCI:", "2021SE05SFPR"), ("Projektägare organisationsnummer:", "2120001850"),
    ("Projektägare:", "KARLSTADS KOMMUN"), ("Namn:", "Testprojekt"), ("Startdatum:", "2023-03-01"),
    ("Slutdatum:", "2025-07-31"), ("Unionens medfinansieringsgrad:", "60%"), ("Region:", "Norra Mellansverige"),
    ("NUTS-2 kod:", "SE31"), ("Antal deltagare:", "1600"), ("Projektnummer:", "22-999-S99"),
]


def _esf_plus(fields: list[tuple[str, str]], header: str = "", footer: str = "") -> str:
    body = "\n".join(f"{label}\n{value}" for label, value in fields)
    return f"{header}\n{body}\n\n{footer}\n"


def test_esf_plus_fields_in_any_order_without_title_line() -> None:
    text = _esf_plus(list(reversed(ESF_PLUS_FIELDS)))
    [record] = parse_text(text, "x.txt").records
    assert record.title == "Testprojekt" and record.project_number == "22-999-S99"
    assert record.start_date == dt.date(2023, 3, 1) and record.participants == 1600


def test_esf_plus_title_line_supplies_number_and_title_when_fields_lack_them() -> None:
    fields = [f for f in ESF_PLUS_FIELDS if f[0] not in ("Namn:", "Projektnummer:")]
    text = _esf_plus(fields, header="Cookies\nLäs mer\n\n23-123-S01 - Unga i arbete")
    [record] = parse_text(text, "x.txt").records
    assert (record.project_number, record.title) == ("23-123-S01", "Unga i arbete")


def test_esf_plus_empty_value_does_not_swallow_next_label() -> None:
    fields = [("Region:", ""), *[f for f in ESF_PLUS_FIELDS if f[0] != "Region:"]]
    text = _esf_plus(fields).replace("Region:\n\n", "Region:\n")
    result = parse_text(text, "x.txt")
    [record] = result.records
    assert record.region_name is None
    assert record.fund == "ESF+"
    assert any("Region" in w and "no value" in w for w in result.warnings)


def test_esf_plus_trailing_fields_missing_and_budgets_with_or_without_kr() -> None:
    budgets = [("Beviljat ESF-stöd:", "1 234 567 kr"), ("Total projektbudget:", "2\u202f000\u00a0000")]
    fields = ESF_PLUS_FIELDS[:6] + budgets
    [record] = parse_text(_esf_plus(fields), "x.txt").records
    assert record.granted_amount_sek == Decimal(1234567) and record.total_budget_sek == Decimal(2000000)
    assert record.project_number is None and record.nuts_code is None


def test_esf_plus_national_project_keeps_se0() -> None:
    fields = [f if f[0] != "NUTS-2 kod:" else ("NUTS-2 kod:", "SE0") for f in ESF_PLUS_FIELDS]
    fields = [f if f[0] != "Region:" else ("Region:", "ESF Nationellt") for f in fields]
    [record] = parse_text(_esf_plus(fields), "x.txt").records
    assert (record.nuts_code, record.region_name) == ("SE0", "ESF Nationellt")


def test_esf_plus_unknown_label_is_kept_and_reported() -> None:
    fields = [*ESF_PLUS_FIELDS, ("Målgruppens behov:", "Unga 16-24 år")]
    result = parse_text(_esf_plus(fields), "x.txt")
    assert result.records[0].extra_dict()["Målgruppens behov"] == "Unga 16-24 år"
    assert any("Målgruppens behov" in w for w in result.warnings)


def test_esf_plus_bad_value_is_reported_and_kept_raw() -> None:
    fields = [f if f[0] != "Startdatum:" else ("Startdatum:", "2023-02-30") for f in ESF_PLUS_FIELDS]
    result = parse_text(_esf_plus(fields), "x.txt")
    assert result.records[0].start_date is None
    assert result.records[0].extra_dict()["Startdatum"] == "2023-02-30"
    assert any("2023-02-30" in w and "out of range" in w for w in result.warnings)


def test_esf_plus_page_with_two_records() -> None:
    second = [(label, value.replace("22-999-S99", "22-888-S88").replace("Testprojekt", "Andra"))
              for label, value in ESF_PLUS_FIELDS]
    text = _esf_plus(ESF_PLUS_FIELDS, footer="Första sammanfattningen.\n\n22-888-S88 - Andra") + _esf_plus(second)
    records = parse_text(text, "x.txt").records
    assert [r.project_number for r in records] == ["22-999-S99", "22-888-S88"]
    assert records[0].extra_dict()["summary"] == "Första sammanfattningen."


def test_esf_project_bank_2014_2020_layout() -> None:
    text = (
        "Projektnamn: Jobbstart\nDiarienummer: 2015/00123\nProjektägare: Gävle kommun\n"
        "Projektperiod: 2016-01-01 - 2018-12-31\nPlanerat antal deltagare: 250\n"
        "Beviljat ESF-stöd: 5 000 000\nTotal projektbudget: 10 000 000 kr\nRegion: Norra Mellansverige\n\n"
        "Sammanfattning\n\nEtt projekt för unga.\n\nKommuner\n\nGävle\nSandviken\n"
    )
    result = parse_text(text, "x.txt")
    assert result.source_format == "esf_2007"
    [record] = result.records
    assert record.title == "Jobbstart" and record.participants == 250
    assert (record.start_date, record.end_date) == (dt.date(2016, 1, 1), dt.date(2018, 12, 31))
    assert record.municipalities == ("Gävle", "Sandviken") and record.fund == "ESF"
    assert record.extra_dict()["summary"] == "Ett projekt för unga."


def test_esf_project_bank_unknown_glued_label_is_kept() -> None:
    text = ("Titel\n\nProjektfasGenomförande\nSamverkansformNätverk\nProjektägareX kommun\n"
            "Projektperiod2010-01-01 till 2011-01-01\n")
    result = parse_text(text, "x.txt")
    assert result.records[0].extra_dict()["Samverkansform"] == "Nätverk"
    assert result.records[0].owner_name == "X kommun"


def test_partner_search_erasmus_variant() -> None:
    text = (
        "Programme: Erasmus+ KA2 Strategic Partnerships\n\nDeadline: 26 March 2015\n\n"
        "Contact person\nName: Jan Berg\nEmail: jan.berg@example.org\nPhone: +49 30 1234567\n\n"
        "Organisation\nStadt Musterstadt is a municipality in Germany.\n\n"
        "Project title: Green Skills\n\nKeywords: climate; skills; VET\n\nProject duration: 2015-2017\n"
    )
    [record] = parse_text(text, "x.txt").records
    assert (record.fund, record.deadline) == ("Erasmus+", dt.date(2015, 3, 26))
    assert record.title == "Green Skills" and record.keywords == ("climate", "skills", "VET")
    assert record.contact_phone == "+49301234567" and record.owner_name == "Stadt Musterstadt"
    assert record.period_text == "2015-2017" and record.language == "en"


@pytest.mark.parametrize("text", ["", "Hello world\nNothing here", "Region:\nStockholm\n"])
def test_unrecognised_text_is_a_clear_error(text: str) -> None:
    with pytest.raises(SourceError, match="x.txt"):
        parse_bytes(text.encode(), "x.txt")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_any_encoding_and_line_ending(encoding: str, newline: str) -> None:
    text = _esf_plus(ESF_PLUS_FIELDS + [("Stödmottagare ort:", "SÄFFLE")]).replace("\n", newline)
    [record] = parse_bytes(text.encode(encoding), "x.txt").records
    assert record.city == "SÄFFLE" and record.owner_name == "KARLSTADS KOMMUN"


def test_cli_parse_json_and_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not a project page", encoding="utf-8")
    good = SOURCES / "003_03dc92fa27c0c321.txt"
    ok = subprocess.run([sys.executable, "-m", "kgbuild.cli", "parse", "--json", str(good)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["project_number"] == "22-005-S01"
    mixed = subprocess.run([sys.executable, "-m", "kgbuild.cli", "parse", "--json", str(bad), str(good)],
                           capture_output=True, text=True, check=False)
    assert mixed.returncode == 1
    assert "bad.txt" in mixed.stderr and "Traceback" not in mixed.stderr
    assert len(json.loads(mixed.stdout)) == 1  # the good file still parsed
