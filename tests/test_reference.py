"""Tests for kgbuild.reference and the files in data/reference/ it reads."""

from __future__ import annotations

import functools

import pyoxigraph as ox
import pytest

from kgbuild.reference import (
    code_labels,
    counties,
    county_by_code,
    esf_regions,
    municipalities,
    municipality_by_code,
    nuts_code_is_national,
    resolve_esf_region,
    resolve_municipality,
)
from kgbuild.resources import data_path

NUTS = "http://data.europa.eu/nuts/code/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
# The 27 EU member states as NUTS writes them (Greece is EL, not GR).
EU27 = ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU"]
EU27 += ["IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]


@functools.cache
def nuts_store() -> ox.Store:
    store = ox.Store()
    store.load(path=str(data_path("reference", "nuts.ttl")), format=ox.RdfFormat.TURTLE)
    return store


def objects(code: str, predicate: str) -> set[str]:
    quads = nuts_store().quads_for_pattern(ox.NamedNode(NUTS + code), ox.NamedNode(predicate), None)
    return {q.object.value for q in quads}


# --- the tables ----------------------------------------------------------------------------------


def test_290_municipalities_with_unique_four_digit_codes() -> None:
    codes = [m.code for m in municipalities()]
    assert len(codes) == 290
    assert len(set(codes)) == 290
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert len({m.name for m in municipalities()}) == 290


def test_21_counties() -> None:
    assert len(counties()) == 21
    assert len({c.code for c in counties()}) == 21


def test_municipality_code_starts_with_its_county_code() -> None:
    for m in municipalities():
        assert m.code.startswith(m.county.code), m


def test_every_county_has_municipalities() -> None:
    assert {m.county for m in municipalities()} == set(counties())


@pytest.mark.parametrize(
    ("code", "name", "nuts3"),
    [
        ("0180", "Stockholm", "SE110"),
        ("1480", "Göteborg", "SE232"),
        ("1280", "Malmö", "SE224"),
        ("1780", "Karlstad", "SE311"),
        ("0880", "Kalmar", "SE213"),
        ("1763", "Forshaga", "SE311"),
        ("1783", "Hagfors", "SE311"),
        ("1762", "Munkfors", "SE311"),
        ("1730", "Eda", "SE311"),
        ("1782", "Filipstad", "SE311"),
        ("1764", "Grums", "SE311"),
        ("1715", "Kil", "SE311"),
        ("1781", "Kristinehamn", "SE311"),
        ("1785", "Säffle", "SE311"),
        ("1765", "Årjäng", "SE311"),
        ("1784", "Arvika", "SE311"),
        ("1766", "Sunne", "SE311"),
        ("1737", "Torsby", "SE311"),
        ("1760", "Storfors", "SE311"),
        ("1761", "Hammarö", "SE311"),
        ("0360", "Tierp", "SE121"),
        ("0319", "Älvkarleby", "SE121"),
        ("0382", "Östhammar", "SE121"),
        ("0331", "Heby", "SE121"),
        ("2023", "Malung-Sälen", "SE312"),
        ("2180", "Gävle", "SE313"),
        ("2080", "Falun", "SE312"),
        ("2081", "Borlänge", "SE312"),
        ("0114", "Upplands Väsby", "SE110"),
    ],
)
def test_known_municipality_codes(code: str, name: str, nuts3: str) -> None:
    m = municipality_by_code(code)
    assert m is not None
    assert (m.name, m.nuts3) == (name, nuts3)


def test_municipality_by_unknown_code() -> None:
    assert municipality_by_code("1786") is None
    assert municipality_by_code("114") is None


def test_county_nuts3_codes_are_unique_and_in_nuts_ttl() -> None:
    nuts3 = [c.nuts3 for c in counties()]
    assert len(set(nuts3)) == 21
    for county in counties():
        assert objects(county.nuts3, SKOS + "notation") == {county.nuts3}
        assert objects(county.nuts3, "https://w3id.org/kgbuild/ontology#nutsLevel") == {"3"}
        # Eurostat labels Swedish NUTS-3 regions with the county's name: a cross-check of the code.
        assert objects(county.nuts3, SKOS + "prefLabel") == {county.name}


def test_county_by_code() -> None:
    county = county_by_code("17")
    assert county is not None
    assert (county.name, county.nuts3) == ("Värmlands län", "SE311")
    assert county_by_code("02") is None


# --- nuts.ttl ------------------------------------------------------------------------------------


def test_nuts_ttl_has_norra_mellansverige() -> None:
    assert objects("SE31", SKOS + "broader") == {NUTS + "SE3"}
    assert objects("SE31", SKOS + "prefLabel") == {"Norra Mellansverige"}
    assert objects("SE311", SKOS + "broader") == {NUTS + "SE31"}
    assert objects("SE3", SKOS + "broader") == {NUTS + "SE"}
    assert objects("SE31", SKOS + "inScheme") == {"http://data.europa.eu/nuts/scheme/2024"}


@pytest.mark.parametrize("country", EU27)
def test_nuts_ttl_has_every_eu_country(country: str) -> None:
    assert objects(country, SKOS + "notation") == {country}
    assert objects(country, "https://w3id.org/kgbuild/ontology#nutsLevel") == {"0"}


def test_nuts_ttl_broader_targets_exist() -> None:
    targets = {q.object for q in nuts_store().quads_for_pattern(None, ox.NamedNode(SKOS + "broader"), None)}
    concept = ox.NamedNode(SKOS + "Concept")
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    missing = [t for t in targets if not list(nuts_store().quads_for_pattern(t, rdf_type, concept))]
    assert not missing


def test_esf_regions_point_at_nuts2_regions() -> None:
    for region in esf_regions():
        if region.nuts2 is not None:
            assert objects(region.nuts2, "https://w3id.org/kgbuild/ontology#nutsLevel") == {"2"}


# --- resolving municipalities --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Karlstad", "1780"),
        ("KARLSTADS KOMMUN", "1780"),
        ("Karlstads kommun", "1780"),
        ("Karlstads", "1780"),
        ("The Municipality of Karlstad", "1780"),
        ("Municipality of Karlstad", "1780"),
        ("Karlstad Municipality", "1780"),
        ("Forshaga kommun KOMMUNKONTOR", "1763"),
        ("Hagfors kommun Stadshuset", "1783"),
        ("Munkfors kommunkontor", "1762"),
        ("Karlstads kommun, kommunledningskontoret", "1780"),
        ("Kils kommun kommunstyrelsen", "1715"),
        ("Malung", "2023"),
        ("Malung-Sälens kommun", "2023"),
        ("Upplands Väsby kommun", "0114"),
        ("Upplands-Väsby", "0114"),
        ("upplands\u00a0väsby", "0114"),
        ("Stockholms stad", "0180"),
        ("Göteborgs Stad", "1480"),
        ("Malmö stad", "1280"),
        ("Borås Stad", "1490"),
        ("City of Stockholm", "0180"),
        ("Gothenburg", "1480"),
        ("Goteborg", "1480"),
        ("Falu kommun", "2080"),
        ("Region Gotland", "0980"),
        ("Kils", "1715"),
        ("Kil", "1715"),
        ("Dals Ed", "1438"),
        ("Habo", "0643"),
        ("Håbo", "0305"),
    ],
)
def test_resolve_municipality(name: str, code: str) -> None:
    m = resolve_municipality(name)
    assert m is not None, name
    assert m.code == code


@pytest.mark.parametrize(
    "name",
    [
        "Borås",
        "Bollnäs",
        "Vännäs",
        "Kramfors",
        "Hagfors",
        "Munkfors",
        "Storfors",
        "Hofors",
        "Höganäs",
        "Strängnäs",
        "Västerås",
        "Robertsfors",
        "Bengtsfors",
        "Karlshamn",
    ],
)
def test_names_ending_in_s_are_not_cut(name: str) -> None:
    m = resolve_municipality(name)
    assert m is not None
    assert m.name == name


@pytest.mark.parametrize(
    "name",
    [
        "Region Värmland",
        "Landstingets kansli",
        "Klarälvdalens Samordningsförbund",
        "Arbetsmarknadsförvaltningen - Stockholms stad",
        "Skarpnäcks stadsdelsförvaltnin",
        "Värmlands län",
        "Stockholms läns landsting",
        "Karlstad Stadshuset",
        "Stadshuset",
        "kommun",
        "",
        "   ",
        "Sälen",
        # Without its ring and dots this fits both Håbo and Habo: never guess.
        "Hâbo",
    ],
)
def test_resolve_municipality_refuses(name: str) -> None:
    assert resolve_municipality(name) is None


def test_every_municipality_resolves_from_its_own_name_and_organisation_name() -> None:
    for m in municipalities():
        for written in (
            m.name,
            m.name.upper(),
            f"{m.name} kommun",
            f"{m.name}s kommun",
            f"{m.name} Municipality",
        ):
            assert resolve_municipality(written) == m, written


# --- ESF regions and national codes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "nuts2"),
    [
        ("Småland & Öarna", "SE21"),
        ("Småland och öarna", "SE21"),
        ("Småland med öarna", "SE21"),
        ("Norra Mellansverige", "SE31"),
        ("NORRA  MELLANSVERIGE", "SE31"),
        ("Övre Norrland", "SE33"),
        ("Mellersta Norrland", "SE32"),
        ("Östra Mellansverige", "SE12"),
        ("Stockholm", "SE11"),
        ("Västsverige", "SE23"),
        ("Sydsverige", "SE22"),
    ],
)
def test_resolve_esf_region(name: str, nuts2: str) -> None:
    region = resolve_esf_region(name)
    assert region is not None
    assert region.nuts2 == nuts2
    assert not region.national


@pytest.mark.parametrize("name", ["ESF Nationellt", "Nationellt", "Hela Sverige"])
def test_resolve_esf_national(name: str) -> None:
    region = resolve_esf_region(name)
    assert region is not None
    assert region.national
    assert region.nuts2 is None


@pytest.mark.parametrize("name", ["Värmland", "Norrland", "", "Region Stockholm"])
def test_resolve_esf_region_refuses(name: str) -> None:
    assert resolve_esf_region(name) is None


@pytest.mark.parametrize(
    ("code", "national"),
    [
        ("SE0", True),
        (" se0 ", True),
        ("DK0", False),
        ("SE", False),
        ("SE3", False),
        ("SE31", False),
        ("SE00", False),
        ("0", False),
    ],
)
def test_nuts_code_is_national(code: str, national: bool) -> None:
    assert nuts_code_is_national(code) is national


def test_code_labels_name_a_source_and_one_label_per_language() -> None:
    names = code_labels()
    readme = data_path("reference", "README.md").read_text(encoding="utf-8")
    assert {n.scheme for n in names} == {"programme", "programme-area", "intervention-type"}
    assert {n.language for n in names} == {"sv", "en"}
    for name in names:
        assert f"| `{name.source}` |" in readme, name  # every source is described
        assert name.label.strip() == name.label and name.label and name.code.strip() == name.code, name
    keys = [(n.scheme, n.code, n.language) for n in names]
    assert len(keys) == len(set(keys))
    assert [(n.language, n.label) for n in names if (n.scheme, n.code) == ("programme-area", "A")] == [
        ("sv", "Öka möjligheten till ett inkluderande och hållbart arbetsliv för alla"),
        ("en", "Increase opportunities for an inclusive and sustainable working life for all")]
