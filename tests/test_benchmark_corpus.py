"""The benchmark corpus generator (benchmarks/corpus.py): deterministic, realistic, and valid.

Valid means what the real pages are: every text parses without a warning to the facts the generator
put in, maps without a warning, and builds with no SHACL violation, only the real-data warnings
(national projects, municipalities outside the declared region, co-financing rates that disagree).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import corpus
from benchmarks.corpus import Document, generate, generate_documents, generate_texts
from kgbuild import reference as ref
from kgbuild.extract.lexicon import lexicon
from kgbuild.extract.reading import read_layout
from kgbuild.iris import Iris, SourceInfo
from kgbuild.normalise import parse_org_number
from kgbuild.parsers import parse_text
from kgbuild.pipeline import build
from kgbuild.prepare import map_sources
from kgbuild.records import ParseResult

ROOT = Path(__file__).resolve().parents[1]
IRIS = Iris("http://127.0.0.1:8000/")
# Facts the generator states under ProjectRecord field names, compared one to one with the parse.
KEYS = ("title", "project_number", "owner_name", "owner_org_number", "start_date", "end_date", "granted_amount_sek",
        "total_budget_sek", "eu_cofinancing_rate", "participants", "region_name", "nuts_code", "municipalities",
        "co_financiers", "partners", "contact_name", "contact_email", "contact_phone", "deadline", "keywords",
        "period_text", "fund", "programme", "postal_code", "city", "child_poverty_theme", "strategic_importance",
        "specific_objective", "project_phase", "programme_area")


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    return list(generate_documents(600, seed=3))


@pytest.fixture(scope="module")
def parsed(documents: list[Document]) -> list[ParseResult]:
    return [parse_text(d.text, d.name) for d in documents]


def test_same_seed_same_texts_other_seed_other_texts(tmp_path: Path) -> None:
    first = list(generate_texts(200, seed=5))
    assert first == list(generate_texts(200, seed=5))
    assert list(generate_texts(80, seed=5)) == first[:80]  # a smaller corpus is a prefix of a larger one
    other = list(generate_texts(200, seed=6))
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 190
    paths = generate(60, tmp_path / "a", seed=5)
    again = generate(60, tmp_path / "b", seed=5)
    assert [p.name for p in paths] == [p.name for p in again] == [name for name, _ in first[:60]]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(paths, again, strict=True))
    assert paths[0].read_bytes().decode("utf-8") == first[0][1]


def test_format_mix_and_unique_names() -> None:
    docs = list(generate_documents(1000))
    formats = Counter(d.facts["source_format"] for d in docs)
    assert 0.40 <= formats["esf_plus_2021"] / 1000 <= 0.50
    assert 0.40 <= formats["esf_2007"] / 1000 <= 0.50
    assert 0.07 <= formats["partner_search"] / 1000 <= 0.13
    assert len({d.name for d in docs}) == 1000
    prefixes = {"esf_plus_2021": "esfplus-", "esf_2007": "bank-", "partner_search": "call-"}
    assert all(d.name.startswith(prefixes[d.facts["source_format"]]) for d in docs)
    modern = sum(1 for d in docs if d.facts.get("period_2014"))
    assert 0.15 <= modern / formats["esf_2007"] <= 0.35  # some 2014–2020 project-bank pages
    numbers = [d.facts.get("case_number") or d.facts["project_number"] for d in docs]
    stated = [n for n in numbers if n]
    assert len(stated) == len(set(stated)) > 400  # project numbers are unique across the corpus


def test_every_text_parses_to_the_facts_put_in(documents: list[Document], parsed: list[ParseResult]) -> None:
    for document, result in zip(documents, parsed, strict=True):
        facts = document.facts
        assert result.source_format == facts["source_format"], document.name
        assert not [w for w in result.warnings if "not a valid" in w], document.name
        assert result.warnings == (), (document.name, result.warnings)
        [record] = result.records
        for key in KEYS:
            if key in facts:
                # A page's Diarienummer is its project's number where it states no Projektnummer.
                want = facts[key] or facts.get("case_number") if key == "project_number" else facts[key]
                assert getattr(record, key) == want, (document.name, key)
        extra = record.extra_dict()
        if "summary" in facts:
            assert extra["summary"] == facts["summary"], document.name
        assert extra.get("case_number") == facts["case_number"], document.name
        if facts["start_date"] and facts["end_date"]:
            assert facts["start_date"] < facts["end_date"], document.name


def test_facts_are_consistent_with_the_period_of_each_format(documents: list[Document]) -> None:
    for d in documents:
        facts = d.facts
        if facts["source_format"] == "esf_plus_2021" and facts["start_date"] and facts["end_date"]:
            assert dt.date(2022, 1, 1) <= facts["start_date"] < facts["end_date"] <= dt.date(2029, 12, 31)
        elif facts["source_format"] == "esf_2007":
            first, last = (2015, 2023) if facts["period_2014"] else (2008, 2015)
            assert first <= facts["start_date"].year <= facts["end_date"].year <= last, d.name
        elif facts["source_format"] == "partner_search":
            start_year = int(facts["period_text"][:4])
            assert facts["deadline"].year <= start_year, d.name


def test_texts_map_without_warnings_and_places_resolve(documents: list[Document], parsed: list[ParseResult]) -> None:
    mapped = map_sources([(SourceInfo(d.name, "0" * 64, "1"), r) for d, r in zip(documents, parsed, strict=True)],
                         IRIS)
    assert [w for m in mapped for w in m.warnings] == []
    for d in documents:
        facts = d.facts
        if facts.get("region_name"):
            region = ref.resolve_esf_region(facts["region_name"])
            assert region is not None, d.name
            assert region.national == facts["national"]
            if facts["nuts_code"]:
                assert facts["nuts_code"] == (region.nuts2 or "SE0")
        assert all(ref.resolve_municipality(name) for name in facts["municipalities"]), d.name


def test_the_real_data_traps_are_there(documents: list[Document]) -> None:
    traps = Counter(trap for d in documents for trap in d.facts["traps"])
    for trap in ("national", "outside_region", "truncated_name", "no_title_line", "trailing_missing",
                 "reordered", "rate_mismatch"):
        assert traps[trap] >= 3, (trap, traps)
    texts = "\n".join(d.text for d in documents)
    for written in ("\u00a0", "\u202f", "Logotyp på utskrifter", "Webbinarium", "In English", "information (1)",
                    "NUTS-2 kod:\nSE0", "ESF Nationellt", "RegionNationellt", " kr\n", "Förprojektering",
                    "Planerat antal deltagare: ", "Diarienummer: 20", "Working title: ", "Deadline for ", "%"):
        assert written in texts, written
    assert re.search(r"\b[0-9]{1,2}(?:st|nd|rd|th) [A-Z][a-z]+ 20[0-9]{2}\b", texts)  # "21st February 2013"
    assert re.search(r"[0-9],[0-9] ?%", texts.replace("\u00a0", " "))  # "40,5 %"
    assert any(len(name) == 30 for d in documents for name in d.facts.get("co_financiers", ()))
    years_only = [d for d in documents if d.facts.get("period_text") and d.facts["start_date"] is None]
    assert years_only and all(len(d.facts["period_text"]) == 9 for d in years_only)  # "2013-2015"


def test_organisations_recur_with_one_number_each() -> None:
    docs = list(generate_documents(500, seed=11))
    co_financing = Counter(name for d in docs for name in set(d.facts.get("co_financiers", ())))
    assert co_financing.most_common(1)[0][1] >= 3
    assert sum(1 for n in co_financing.values() if n >= 3) >= 10
    owners = {d.facts["owner_name"].casefold() for d in docs if d.facts["owner_name"]}
    assert any(name.casefold() in owners for name in co_financing)  # owns one project, co-finances another
    numbers: dict[str, set[str]] = {}
    governs: dict[str, set[str]] = {}
    for d in docs:
        number, name = d.facts.get("owner_org_number"), d.facts["owner_name"]
        if number and name:
            assert parse_org_number(number) == number  # ten digits, valid check digit
            numbers.setdefault(name.casefold(), set()).add(number)
            municipality = ref.resolve_municipality(name)
            if municipality:
                governs.setdefault(number, set()).add(municipality.code)
    assert all(len(found) == 1 for found in numbers.values())
    assert all(len(found) == 1 for found in governs.values())
    assert any(o.name == "Karlstads kommun" and o.number == "2120001850" for o in corpus._world().orgs)


def test_word_pools_never_start_with_a_label() -> None:
    starts = [*corpus._SV_SUBJECTS, *corpus._SV_FIXED, *corpus._SV_TITLE_CORES, *corpus._SV_GROUPS]
    starts += [f"{core} i Karlstad" for core in corpus._SV_TITLE_CORES]
    for line in starts:
        assert not read_layout(lexicon(), line, "sv").label_lines, line


def _build_selection() -> list[Document]:
    """A few documents of each format and each warning kind: a build validates each source with
    pyshacl (about 0.1–1 s per source here: 150 sources take about 50 s), too slow for this file."""
    wanted = Counter({("esf_plus_2021", "national"): 2, ("esf_plus_2021", "rate_mismatch"): 1,
                      ("esf_plus_2021", ""): 4, ("esf_2007", "outside_region"): 2, ("esf_2007", "national"): 1,
                      ("esf_2007", ""): 4, ("partner_search", ""): 2})
    chosen = []
    for d in generate_documents(800, seed=2):
        fmt, traps = d.facts["source_format"], d.facts["traps"]
        key = next(((fmt, t) for t in ("national", "rate_mismatch", "outside_region") if t in traps), (fmt, ""))
        if wanted[key] > 0 and len(d.facts["municipalities"]) <= 20:
            wanted[key] -= 1
            chosen.append(d)
    assert not +wanted, wanted
    return chosen


def test_a_small_build_has_no_violations_and_the_expected_warnings(tmp_path: Path) -> None:
    selection = _build_selection()
    sources = tmp_path / "sources"
    sources.mkdir()
    paths = []
    for d in selection:
        (sources / d.name).write_text(d.text, encoding="utf-8", newline="")
        paths.append(sources / d.name)
    report = build(paths, tmp_path / "store", IRIS)
    assert report.ok, report.failures
    assert report.validation.violations == ()
    assert report.warnings == []  # nothing the parser or mapping could not read
    messages = [f.message for f in report.validation.warnings]
    assert any(m.startswith("national project") for m in messages)
    assert any(m.startswith("municipality outside the declared region") for m in messages)
    assert any(m.startswith("declared EU co-financing rate") for m in messages)
    assert len(report.replaced) == len(selection)


def test_cli_writes_the_corpus(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "benchmarks.corpus", "--count", "25", "--out", str(out),
                           "--seed", "4"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "wrote 25 files" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(name for name, _ in generate_texts(25, seed=4))
    assert corpus.main(["--count", "3", "--out", str(tmp_path / "again"), "--seed", "4"]) == 0
    first = next(generate_texts(1, seed=4))[0]
    assert (tmp_path / "again" / first).read_bytes() == (out / first).read_bytes()


@pytest.mark.slow  # a benchmark: the figure is printed, only the corpus's size is checked
def test_generation_throughput_is_printed() -> None:
    count = 3000
    started, cpu = time.perf_counter(), time.process_time()
    size = sum(len(text) for _, text in generate_texts(count, seed=9))
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    print(f"\ncorpus generation: {count / wall:,.0f} documents/s wall, {count / used:,.0f} per CPU-second, "
          f"{size / count:,.0f} characters per document")
    assert size > 0
