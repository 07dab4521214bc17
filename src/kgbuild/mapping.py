"""Mapping: parsed records → RDF quads, a pure function with deterministic IRIs.

Input: a :class:`~kgbuild.records.ParseResult` (one source text), the :class:`SourceInfo` of its file,
the corpus-wide :class:`OrganisationIdentity`, and the base IRI. Output: a :class:`MappedSource`
whose public quads live in the source's own named graph and whose personal data (contact persons)
live in a separate named graph. The same inputs always give the same quads.

IRIs come from natural keys, readable under the base: ``id/project/22-010-S04``,
``id/organisation/2120001850``, ``id/municipality/1780``. NUTS regions use the EU's own IRIs.

The IRI of a project, call, partner search or municipality never depends on the file a record came
from or on what other sources say, so that it never changes meaning or disappears when a file is
renamed or another source arrives (issue 19):

- a project with a project number (or a Diarienummer) is ``id/project/<number>``; else, one whose page
  names its item in Kohesio is ``id/project/kohesio/<item>`` (``id/project/kohesio/Q7362999``);
- a project, call or partner search without either is ``id/<kind>/digest/<16 hex digits>``, a digest of
  what it states of itself (:func:`stated_key`: its normalised title, owner and start date); only a
  record stating none of these is named after its file, ``id/project/source/<file>`` (``id/<kind>/<file>``);
- an organisation that governs a municipality is ``id/organisation/municipality/<code>`` whether or
  not its organisationsnummer is known (that number is a registration on it); another organisation is
  ``id/organisation/<organisationsnummer>`` when a source states the number (with the name, which ties
  the name to it across the corpus), else ``id/organisation/name/<name>``.

Where an earlier IRI names the same thing (the file-named IRI earlier versions gave a project, the
organisationsnummer IRI of a municipality, the name IRI of an organisation whose number a source
states), the current IRI states ``owl:sameAs`` that earlier one, and the server redirects it (301).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pyoxigraph import Literal, NamedNode, Quad

from kgbuild import reference as ref
from kgbuild.errors import NormaliseError
from kgbuild.normalise import parse_year_range
from kgbuild.records import DocumentKind, Evidence, ParseResult, ProjectRecord, pickled_by_fields
from kgbuild.vocab import ADMS, DCT, KG, NUTS, OA, OWL, PROV, RDF, RDFS, REGORG, SCHEMA, SKOS, VCARD, XSD

__all__ = [
    "SourceInfo",
    "MappedSource",
    "OrganisationIdentity",
    "Iris",
    "RECORDED_BASES",
    "recorded_bases",
    "map_source",
    "reference_quads",
    "slug",
    "source_key",
    "stated_key",
    "stated_owners",
]


def slug(text: str) -> str:
    """A readable, deterministic IRI path segment: letters (any script) and digits joined by dashes.

    ``+`` is spelled out so that "ESF+" and "ESF" stay apart.

    >>> slug("ESF+"), slug("Skarpnäcks stadsdelsförvaltnin"), slug("2015/00123")
    ('esf-plus', 'skarpnäcks-stadsdelsförvaltnin', '2015-00123')
    """
    text = unicodedata.normalize("NFC", text).casefold().replace("+", " plus ")
    return _NON_WORD_RE.sub("-", text).strip("-") or "-"


_NON_WORD_RE = re.compile(r"[\W_]+")


def source_key(file_name: str) -> str:
    """The key a source file's graphs and IRIs are named by: its name without the extension, as a slug.

    Different file names can give one key; the pipeline refuses the second such file.

    >>> source_key("001_49fdefbf50581b3b.txt"), source_key("proj-a.txt") == source_key("Proj_A.txt")
    ('001-49fdefbf50581b3b', True)
    """
    return slug(file_name.rsplit(".", 1)[0]) if "." in file_name else slug(file_name)


def _code_segment(text: str) -> str:
    """An identifier kept as written where it is IRI-safe (``22-010-S04``, ``2021SE05SFPR``)."""
    cleaned = text.strip()
    return cleaned if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", cleaned) else slug(cleaned)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The file a record came from, as recorded in provenance."""

    name: str  # file name, without directories
    sha256: str
    parser_version: str
    url: str | None = None  # where a fetched page came from (its record, :mod:`kgbuild.sidecar`)


@dataclass(frozen=True, slots=True)
class Iris:
    """Every IRI kgbuild mints, under one base (``http://127.0.0.1:8000/`` by default)."""

    base: str

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^\s<>\"{}|\\^`]+/$", self.base):
            raise ValueError(f"base IRI must be an http(s) IRI ending in '/': {self.base!r}")

    def id(self, *segments: str) -> NamedNode:
        return NamedNode(self.base + "id/" + "/".join(segments))

    def graph(self, *segments: str) -> NamedNode:
        return NamedNode(self.base + "graph/" + "/".join(segments))

    def source_key(self, source: SourceInfo) -> str:
        return source_key(source.name)

    def source_graph(self, source: SourceInfo) -> NamedNode:
        return self.graph("source", self.source_key(source))

    def personal_graph(self, source: SourceInfo) -> NamedNode:
        return self.graph("personal", self.source_key(source))

    @property
    def reference_graph(self) -> NamedNode:
        return self.graph("reference")

    @property
    def ontology_graph(self) -> NamedNode:
        return self.graph("ontology")

    @property
    def build_graph(self) -> NamedNode:
        return self.graph("build")

    def municipality(self, municipality: ref.Municipality) -> NamedNode:
        return self.id("municipality", municipality.code)

    def county(self, county: ref.County) -> NamedNode:
        return self.id("county", county.code)

    def esf_region(self, region: ref.EsfRegion) -> NamedNode:
        return self.id("esf-region", slug(region.name))


# The graphs whose statements record what a build loaded: each is a build graph, ``<base>graph/build``.
RECORDED_BASES = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?graph <{KG}contentHash> ?hash }} }}"


def recorded_bases(build_graphs: Iterable[str]) -> list[str]:
    """The base IRIs a store was built with, from the build graphs :data:`RECORDED_BASES` finds.

    A store records its base in the name of its build graph (``<base>graph/build``): one base, unless
    builds with different ``--base-iri`` wrote into it before kgbuild checked.

    >>> recorded_bases(["http://x/graph/build", "http://y:8812/graph/build", "http://x/graph/other"])
    ['http://x/', 'http://y:8812/']
    """
    return sorted({iri.removesuffix("graph/build") for iri in build_graphs if iri.endswith("/graph/build")})


def nuts_iri(code: str) -> NamedNode:
    return NamedNode(NUTS + code)


def stated_owners(records: Iterable[ProjectRecord]) -> set[tuple[str, str]]:
    """The (organisationsnummer, name) of every owner the records state with both: what identities come from."""
    return {(r.owner_org_number, r.owner_name) for r in records if r.owner_org_number and r.owner_name}


def governs_itself(number: str | None) -> bool:
    """Whether an organisationsnummer can be a municipality's own (or none is stated).

    Every Swedish municipality is registered in group 212000: a municipal company or a
    kommunalförbund named after its municipality has another number, and is not the municipality.

    >>> governs_itself("2120002312"), governs_itself(None), governs_itself("5564871234")
    (True, True, False)
    """
    return number is None or number.startswith("212000")


@dataclass(frozen=True)
class OrganisationIdentity:
    """Which organisationsnummer belongs to which municipality or exact name, across the whole corpus.

    Built from every record first, so that "The Municipality of Karlstad" in a partner search and
    "KARLSTADS KOMMUN" with its organisationsnummer in an ESF+ record are one organisation with that
    registration. Only facts a source states are used; two different numbers for one key cancel out
    (never a guess). The identities decide registrations and, for an organisation that governs no
    municipality, whether its IRI is its number or its name; a municipality's IRI never depends on them.
    """

    by_municipality: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[ProjectRecord]) -> OrganisationIdentity:
        return cls.from_owners(stated_owners(records))

    @classmethod
    def from_owners(cls, owners: Iterable[tuple[str, str]]) -> OrganisationIdentity:
        """From (organisationsnummer, name) pairs: what :func:`stated_owners` gives, for one or many sources.

        >>> identity = OrganisationIdentity.from_owners([("2120001850", "Karlstads kommun")])
        >>> identity.organisation(Iris("http://x/"), "The Municipality of Karlstad")[2]
        '2120001850'
        """
        municipal: dict[str, set[str]] = {}
        named: dict[str, set[str]] = {}
        for number, name in owners:
            municipality = ref.resolve_municipality(name)
            if municipality is not None and governs_itself(number):
                municipal.setdefault(municipality.code, set()).add(number)
            named.setdefault(slug(name), set()).add(number)
        return cls(
            by_municipality={k: next(iter(v)) for k, v in sorted(municipal.items()) if len(v) == 1},
            by_name={k: next(iter(v)) for k, v in sorted(named.items()) if len(v) == 1},
        )

    def organisation(self, iris: Iris, name: str, org_number: str | None = None
                     ) -> tuple[NamedNode, ref.Municipality | None, str | None]:
        """The organisation's IRI, the municipality it governs (if any), and its organisationsnummer.

        >>> falun = OrganisationIdentity().organisation(Iris("http://x/"), "Falu kommun")
        >>> falun[0].value, falun[2]
        ('http://x/id/organisation/municipality/2080', None)
        >>> known = OrganisationIdentity.from_owners([("2120002312", "FALU KOMMUN")])
        >>> known.organisation(Iris("http://x/"), "Falu kommun")[0] == falun[0]
        True
        """
        municipality = ref.resolve_municipality(name)
        if municipality is not None and not governs_itself(org_number):
            municipality = None  # a company or federation named after the municipality, with its own number
        number = org_number or (self.by_municipality.get(municipality.code) if municipality else None) \
            or self.by_name.get(slug(name))
        if municipality is not None:
            return iris.id("organisation", "municipality", municipality.code), municipality, number
        if number:
            return iris.id("organisation", number), None, number
        return iris.id("organisation", "name", slug(name)), None, None

    def aliases(self, iris: Iris, name: str, organisation: NamedNode, number: str | None) -> list[NamedNode]:
        """Earlier IRIs of the organisation :meth:`organisation` names ``organisation``: its number's IRI
        for a municipality (what kgbuild minted before municipalities kept one IRI), and its name's IRI for
        an organisation the corpus ties to one number (what a mention without the number minted)."""
        if not number:
            return []
        by_number = iris.id("organisation", number)
        if organisation != by_number:
            return [by_number]
        by_name = iris.id("organisation", "name", slug(name))
        return [by_name] if name and name != number and self.by_name.get(slug(name)) == number else []


@dataclass(frozen=True, slots=True)
class MappedSource:
    """The quads of one source: public ones in ``graph``, contact persons in ``personal_graph``."""

    source: SourceInfo
    graph: NamedNode
    personal_graph: NamedNode
    quads: tuple[Quad, ...]
    personal_quads: tuple[Quad, ...]
    warnings: tuple[str, ...] = ()


# Extra fields the mapping gives a proper term to; every other extra becomes a kg:RawField.
_CONTACT_EXTRAS = ("contact_title", "contact_address", "contact", "contact_other")
_ROLES = {"owner": KG + "owner", "co-financier": KG + "coFinancier", "partner": KG + "partner",
          "applicant": KG + "applicant"}


def _lit(value: str, language: str | None = None) -> Literal:
    return Literal(value, language=language) if language else Literal(value)


def _typed(value: object, datatype: str) -> Literal:
    return Literal(str(value), datatype=_term(datatype))


@functools.cache
def _term(iri: str) -> NamedNode:
    """The node of a vocabulary term (a property, a class, a datatype): made once, not per triple."""
    return NamedNode(iri)


def _decimal(value: Decimal) -> Literal:
    text = format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))
    return _typed(text, XSD + "decimal")


class _Writer:
    """Collects the triples of one graph as quads."""

    def __init__(self, graph: NamedNode) -> None:
        self.graph = graph
        self.quads: list[Quad] = []

    def add(self, subject: NamedNode, predicate: str, obj: NamedNode | Literal) -> None:
        self.quads.append(Quad(subject, _term(predicate), obj, self.graph))

    def typed(self, subject: NamedNode, *classes: str) -> None:
        for cls in classes:
            self.add(subject, RDF + "type", _term(cls))


def map_source(result: ParseResult, source: SourceInfo, identity: OrganisationIdentity, iris: Iris
               ) -> MappedSource:
    """Map the records of one source text to quads.

    :param result: what the parser read from the source.
    :param source: the source file's name and checksum, for provenance; for a fetched page, the URL it came
        from, which the source document is ``prov:wasDerivedFrom``.
    :param identity: organisation identities gathered from the whole corpus.
    :param iris: the IRI scheme (base IRI).
    :return: public and personal quads in the source's two named graphs.
    """
    public = _Writer(iris.source_graph(source))
    personal = _Writer(iris.personal_graph(source))
    warnings: list[str] = []
    document = iris.id("source", iris.source_key(source))
    public.typed(document, KG + "SourceDocument", PROV + "Entity")
    public.add(document, KG + "fileName", _lit(source.name))
    public.add(document, KG + "sha256", _lit(source.sha256))
    public.add(document, KG + "sourceFormat", _lit(result.source_format))
    public.add(document, KG + "parserVersion", _lit(source.parser_version))
    if source.url is not None:
        public.add(document, PROV + "wasDerivedFrom", NamedNode(source.url))
    for index, record in enumerate(result.records):
        subject, earlier = _subject(iris, source, record, index, len(result.records))
        _map_record(public, personal, iris, identity, record, subject, warnings)
        if earlier is not None:
            public.add(subject, OWL + "sameAs", earlier)
        public.add(subject, PROV + "wasDerivedFrom", document)
        _map_evidence(public, personal, record, subject, document)
    return MappedSource(source, public.graph, personal.graph, tuple(dict.fromkeys(public.quads)),
                        tuple(dict.fromkeys(personal.quads)), tuple(warnings))


def kind_of(record: ProjectRecord) -> DocumentKind:
    """What a record is about; records made before the kind was read say it by their format."""
    if record.document_kind is not None:
        return record.document_kind
    return "partner_search" if record.source_format == "partner_search" else "project"


_CLASS_OF_KIND = {"project": KG + "Project", "call": KG + "Call", "partner_search": KG + "PartnerSearch"}


def stated_key(record: ProjectRecord) -> str | None:
    """A short digest of what a record states of itself, to name it when it states no project number.

    Its title (as :func:`slug` normalises it: case, punctuation and spacing do not count), its owner
    (the municipality an owner's name resolves to, else the name normalised, else its
    organisationsnummer) and its start date, when stated. None when the record states none of them.
    Never the file name, nor anything another source says: the same facts give the same key anywhere.

    >>> a = ProjectRecord("other", title="Unga i  arbete!", owner_name="FALU KOMMUN")
    >>> b = ProjectRecord("other", title="unga i arbete", owner_name="Falu kommun", participants=3)
    >>> stated_key(a) == stated_key(b), len(stated_key(a) or ""), stated_key(ProjectRecord("other"))
    (True, 16, None)
    """
    title = slug(record.title) if record.title else ""
    owner = ""
    if record.owner_name:
        municipality = ref.resolve_municipality(record.owner_name)
        owner = f"municipality {municipality.code}" if municipality is not None and \
            governs_itself(record.owner_org_number) else slug(record.owner_name)
    elif record.owner_org_number:
        owner = f"number {record.owner_org_number}"
    start = record.start_date.isoformat() if record.start_date else ""
    if not (title or owner or start):
        return None
    return hashlib.sha256(f"{title}\n{owner}\n{start}".encode()).hexdigest()[:16]


_KIND_SEGMENT = {"project": "project", "call": "call", "partner_search": "partner-search"}


def _subject(iris: Iris, source: SourceInfo, record: ProjectRecord, index: int, count: int
             ) -> tuple[NamedNode, NamedNode | None]:
    """The record's IRI, and the IRI kgbuild named it by its file before (its ``owl:sameAs``), if another."""
    kind = kind_of(record)
    segment = _KIND_SEGMENT[kind]
    by_file_key = iris.source_key(source) + (f"-{index + 1}" if count > 1 else "")
    by_file = iris.id(segment, by_file_key) if kind != "project" else iris.id(segment, "source", by_file_key)
    number = record.project_number or str(record.extra_dict().get("case_number", "")) or None
    if kind == "project" and number:
        return iris.id("project", _code_segment(number)), None
    if kind == "project" and record.kohesio_item:  # Kohesio's own identifier of the project, as the page states it
        return iris.id("project", "kohesio", _code_segment(record.kohesio_item)), by_file
    key = stated_key(record)
    if key is None:
        return by_file, None
    return iris.id(segment, "digest", key), by_file


def _map_record(public: _Writer, personal: _Writer, iris: Iris, identity: OrganisationIdentity,
                record: ProjectRecord, subject: NamedNode, warnings: list[str]) -> None:
    lang = record.language
    public.typed(subject, _CLASS_OF_KIND[kind_of(record)])
    if record.title:
        public.add(subject, DCT + "title", _lit(record.title, lang))
    if record.project_number:
        public.add(subject, DCT + "identifier", _lit(record.project_number))
    if lang:
        public.add(subject, DCT + "language", _lit(lang))
    if record.kohesio_item:
        # The same project in Kohesio's knowledge graph (linkedopendata.eu), as the page names it.
        public.add(subject, RDFS + "seeAlso", NamedNode(KOHESIO_ENTITY + record.kohesio_item))
    extra = record.extra_dict()
    summary = extra.get("summary")
    if isinstance(summary, str):
        _add_text(public, personal, record, subject, DCT + "description", summary, lang)
    _map_funding(public, iris, record, subject)
    _map_time(public, record, subject, warnings)
    _map_money(public, record, subject)
    _map_place(public, iris, record, subject, warnings)
    _map_organisations(public, iris, identity, record, subject)
    for keyword in record.keywords:
        public.add(subject, SCHEMA + "keywords", _lit(keyword, lang))
    if record.deadline:
        public.add(subject, KG + "deadline", _typed(record.deadline.isoformat(), XSD + "date"))
    if record.child_poverty_theme is not None:
        public.add(subject, KG + "childPovertyTheme", _typed(str(record.child_poverty_theme).lower(), XSD + "boolean"))
    if record.strategic_importance is not None:
        public.add(subject, KG + "strategicImportance",
                   _typed(str(record.strategic_importance).lower(), XSD + "boolean"))
    _map_contact(personal, record, subject, extra)
    for label, value in record.extra:
        if label == "summary" or label in _CONTACT_EXTRAS:
            continue
        raw = NamedNode(f"{subject.value}/raw/{slug(label)}")
        public.add(subject, KG + "rawField", raw)
        public.typed(raw, KG + "RawField")
        public.add(raw, KG + "rawLabel", _lit(label))
        for item in (value if isinstance(value, tuple) else (value,)):
            _add_text(public, personal, record, raw, KG + "rawValue", item, None)


KOHESIO_ENTITY = "https://linkedopendata.eu/entity/"
# The record keys whose values are personal data: their evidence (which quotes them) is personal too.
_PERSONAL_KEYS = {"contact_name", "contact_email", "contact_phone"}


def _map_evidence(public: _Writer, personal: _Writer, record: ProjectRecord, subject: NamedNode,
                  document: NamedNode) -> None:
    """Where each value was read, as W3C Web Annotations on the source document: the span of its
    decoded text (oa:TextPositionSelector), the text there (oa:TextQuoteSelector), the label it was read
    under, and how sure the reading is. The span is the document's: for a text file, of its decoded text;
    for an HTML page, of its source (the quote is the text the engine read there: entities decoded, white
    space collapsed). A PDF's page and a DOCX's paragraph take the span's place (see :func:`_selector`)."""
    seen: dict[str, int] = {}
    for evidence in record.evidence:
        seen[evidence.key] = seen.get(evidence.key, 0) + 1
        writer = personal if evidence.key in _PERSONAL_KEYS else public
        _annotation(writer, evidence, subject, document, f"{subject.value}/evidence/{slug(evidence.key)}"
                    f"{'-' + str(seen[evidence.key]) if seen[evidence.key] > 1 else ''}")


def _annotation(writer: _Writer, evidence: Evidence, subject: NamedNode, document: NamedNode, iri: str) -> None:
    # Twelve quads a value, the least the Web Annotation model takes for a span and its text: a value
    # has one of these for each place it is read (26 a document of the generated corpus). Line, column
    # and confidence stay in `kgbuild parse --evidence`; the line follows from the text and oa:start.
    annotation, target, selector = NamedNode(iri), NamedNode(iri + "/target"), NamedNode(iri + "/selector")
    writer.typed(annotation, OA + "Annotation")
    writer.add(annotation, OA + "hasBody", subject)
    writer.add(annotation, KG + "recordKey", _lit(evidence.key))
    writer.add(annotation, KG + "readUnder", _lit(evidence.label))
    writer.add(annotation, OA + "hasTarget", target)
    writer.add(target, OA + "hasSource", document)
    writer.add(target, OA + "hasSelector", selector)
    _selector(writer, evidence, selector)
    writer.add(selector, OA + "exact", _lit(evidence.quote))


# The PDF fragment identifiers of RFC 3778 ("page=N"; RFC 8118 keeps them), by the IRI the Web
# Annotation model names them with.
PDF_FRAGMENT = "http://tools.ietf.org/rfc/rfc3778"


def _selector(writer: _Writer, evidence: Evidence, selector: NamedNode) -> None:
    """The selector of the value's place in the document, besides its text (oa:TextQuoteSelector).

    A text file's or an HTML page's span: an oa:TextPositionSelector. A PDF's page: an oa:FragmentSelector
    ``page=N`` (RFC 3778, the first page the text is on). A DOCX's paragraph: an oa:XPathSelector
    ``(//w:p)[N]`` into the package's main part, word/document.xml (``w:`` its WordprocessingML namespace),
    every paragraph counted in document order, a table cell's included.
    """
    origin = evidence.origin
    if origin is None or origin.kind == "html":
        start, end = (evidence.start, evidence.end) if origin is None else (origin.start, origin.end)
        writer.typed(selector, OA + "TextPositionSelector", OA + "TextQuoteSelector")
        # xsd:integer, not the nonNegativeInteger of the OA context: Virtuoso stores the derived types as
        # xsd:integer, and a remote store must give back what was loaded.
        writer.add(selector, OA + "start", _typed(start, XSD + "integer"))
        writer.add(selector, OA + "end", _typed(end, XSD + "integer"))
    elif origin.kind == "pdf":
        writer.typed(selector, OA + "FragmentSelector", OA + "TextQuoteSelector")
        writer.add(selector, DCT + "conformsTo", _term(PDF_FRAGMENT))
        writer.add(selector, RDF + "value", _lit(f"page={origin.start}"))
    else:
        paragraphs = (f"[{origin.start}]" if origin.start == origin.end
                      else f"[position() >= {origin.start} and position() <= {origin.end}]")
        writer.typed(selector, OA + "XPathSelector", OA + "TextQuoteSelector")
        writer.add(selector, RDF + "value", _lit(f"(//w:p){paragraphs}"))


_NOT_DIGITS_RE = re.compile(r"[^0-9]+")


def _may_hold_phone(text: str, *numbers: str | None) -> bool:
    """Whether ``text`` may write one of ``numbers``: its digits hold the number's digits.

    A match of the telephone pattern is a stretch of the text, so its digits are a stretch of the
    text's digits. Far cheaper than the pattern, which most texts (without the number) would run.

    >>> _may_hold_phone("Ring 0552-120 82.", "+4655212082", "055212082"), _may_hold_phone("Budget 381 700", "0552")
    (True, False)
    """
    digits = _NOT_DIGITS_RE.sub("", text)
    return any(number and number.lstrip("+") in digits for number in numbers)


_EMAIL_IN_TEXT_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE_IN_TEXT_RE = re.compile(r"\+?[0-9][0-9 \u00a0\-()/]{5,}[0-9]")


def redact(text: str, record: ProjectRecord) -> str:
    """Free text with personal data taken out: every e-mail address, and the contact person's name
    and telephone number where the text repeats them.

    >>> record = ProjectRecord("esf_2007", contact_name="Roger Nilsson", contact_phone="+4655212082")
    >>> redact("Ring Roger Nilsson på 0552-120 82 eller roger@x.se. Budget 381 700 kr.", record)
    'Ring [name removed] på [telephone removed] eller [e-mail removed]. Budget 381 700 kr.'
    """
    if "@" in text:  # the search costs more than the test, and most texts have no address
        text = _EMAIL_IN_TEXT_RE.sub("[e-mail removed]", text)
    if record.contact_name:
        text = re.sub(re.escape(record.contact_name), "[name removed]", text, flags=re.I)
    if not record.contact_phone:
        return text
    national = "0" + record.contact_phone[3:] if record.contact_phone.startswith("+46") else None
    if not _may_hold_phone(text, record.contact_phone, national):
        return text

    def phone(match: re.Match[str]) -> str:
        digits = "+" * match.group(0).startswith("+") + _NOT_DIGITS_RE.sub("", match.group(0))
        return "[telephone removed]" if digits in (record.contact_phone, national) else match.group(0)

    return _PHONE_IN_TEXT_RE.sub(phone, text)


def _add_text(public: _Writer, personal: _Writer, record: ProjectRecord, subject: NamedNode, predicate: str,
              text: str, lang: str | None) -> None:
    """Free text goes to the public graph redacted; if that changed it, the full text is personal data."""
    cleaned = redact(text, record)
    public.add(subject, predicate, _lit(cleaned, lang))
    if cleaned != text:
        personal.add(subject, predicate, _lit(text, lang))


def _concept(public: _Writer, iri: NamedNode, cls: str, scheme: NamedNode, notation: str | None,
             label: str | None, lang: str | None) -> NamedNode:
    public.typed(iri, cls, SKOS + "Concept")
    public.add(iri, SKOS + "inScheme", scheme)
    public.typed(scheme, SKOS + "ConceptScheme")
    if notation:
        public.add(iri, SKOS + "notation", _lit(notation))
    if label:
        public.add(iri, SKOS + "prefLabel", _lit(label, lang))
    return iri


def _map_funding(public: _Writer, iris: Iris, record: ProjectRecord, subject: NamedNode) -> None:
    lang = record.language
    fund = None
    if record.fund:
        fund = _fund(public, iris, record.fund)
        public.add(subject, KG + "fund", fund)
    if record.programme:
        is_cci = bool(re.fullmatch(r"[0-9]{4}[A-Z]{2}[0-9]{2}[A-Z0-9]{4,8}", record.programme))
        programme = iris.id("programme", _code_segment(record.programme) if is_cci else slug(record.programme))
        public.typed(programme, KG + "Programme")
        if is_cci:
            public.add(programme, KG + "cciCode", _lit(record.programme))
            public.add(programme, RDFS + "label", _lit(record.programme))
        else:
            public.add(programme, RDFS + "label", _lit(record.programme, lang))
        if fund is not None:
            public.add(programme, KG + "fund", fund)
        public.add(subject, KG + "programme", programme)
    for value, prop, cls, scheme in (
        (record.programme_area, "programmeArea", "ProgrammeArea", "programme-area"),
        (record.specific_objective, "specificObjective", "SpecificObjective", "specific-objective"),
        (record.intervention_type, "interventionType", "InterventionType", "intervention-type"),
        (record.project_phase, "projectPhase", "ProjectPhase", "project-phase"),
    ):
        if value:
            is_code = bool(re.fullmatch(r"[A-Za-z0-9]{1,8}", value))
            iri = iris.id(scheme, _code_segment(value) if is_code else slug(value))
            _concept(public, iri, KG + cls, iris.id(scheme), value if is_code else None,
                     None if is_code else value, None if is_code else lang)
            public.add(subject, KG + prop, iri)


def _fund(public: _Writer, iris: Iris, name: str) -> NamedNode:
    """The fund's one concept, whatever name the page gave it: "ESF+" and "European Social Fund Plus (ESF+)",
    "ERUF" and "ERDF" are one fund each, with its names in Swedish and English (from data/lexicon)."""
    from kgbuild.extract.lexicon import lexicon

    for _, short, labels, pattern in lexicon().fund_concepts:
        if pattern.fullmatch(name) or name in short.values():
            fund = _concept(public, iris.id("fund", slug(short["en"])), KG + "Fund", iris.id("fund"), short["en"],
                            None, None)
            for language, label in labels.items():
                public.add(fund, SKOS + "prefLabel", _lit(label, language))
            for alternative in sorted(set(short.values())):
                public.add(fund, SKOS + "altLabel", _lit(alternative))
            return fund
    return _concept(public, iris.id("fund", slug(name)), KG + "Fund", iris.id("fund"), name, name, None)


def _map_time(public: _Writer, record: ProjectRecord, subject: NamedNode, warnings: list[str]) -> None:
    if record.start_date:
        public.add(subject, SCHEMA + "startDate", _typed(record.start_date.isoformat(), XSD + "date"))
    if record.end_date:
        public.add(subject, SCHEMA + "endDate", _typed(record.end_date.isoformat(), XSD + "date"))
    if record.period_text:
        public.add(subject, KG + "periodText", _lit(record.period_text))
        if not (record.start_date or record.end_date):
            try:
                start, end = parse_year_range(record.period_text)
            except NormaliseError:
                return
            public.add(subject, KG + "startYear", _typed(f"{start:04d}", XSD + "gYear"))
            public.add(subject, KG + "endYear", _typed(f"{end:04d}", XSD + "gYear"))


def _map_money(public: _Writer, record: ProjectRecord, subject: NamedNode) -> None:
    if record.eu_cofinancing_rate is not None:
        public.add(subject, KG + "euCofinancingRate", _decimal(record.eu_cofinancing_rate))
    if record.participants is not None:
        public.add(subject, KG + "plannedParticipants", _typed(record.participants, XSD + "integer"))
    for amount, prop, key, currency in _amounts(record):
        if amount is None:
            continue
        node = NamedNode(f"{subject.value}/amount/{key}")
        public.typed(node, KG + "MonetaryAmount", SCHEMA + "MonetaryAmount")
        public.add(node, SCHEMA + "value", _decimal(amount))
        public.add(node, SCHEMA + "currency", _lit(currency))
        public.add(subject, KG + prop, node)


def _amounts(record: ProjectRecord) -> tuple[tuple[Decimal | None, str, str, str], ...]:
    """Each amount with its property, its node's name and its currency (ISO 4217): an amount in EUR is
    never summed with one in SEK, since every query of amounts reads the currency."""
    return ((record.granted_amount_sek, "grantedAmount", "granted", "SEK"),
            (record.total_budget_sek, "totalBudget", "total", "SEK"),
            (record.eu_contribution_eur, "grantedAmount", "granted-eur", "EUR"),
            (record.total_budget_eur, "totalBudget", "total-eur", "EUR"))


def _map_place(public: _Writer, iris: Iris, record: ProjectRecord, subject: NamedNode, warnings: list[str]) -> None:
    region = ref.resolve_esf_region(record.region_name) if record.region_name else None
    if record.region_name and region is None:
        warnings.append(f"region {record.region_name!r} is not a known ESF region; kept as written")
        _raw(public, subject, "Region", record.region_name)
    if region is not None:
        public.add(subject, KG + "esfRegion", iris.esf_region(region))
    national = (record.nuts_code is not None and ref.nuts_code_is_national(record.nuts_code)) or \
        (region is not None and region.national)
    if national:
        public.add(subject, KG + "nationalScope", _typed("true", XSD + "boolean"))
    stated = record.nuts_code if record.nuts_code and not ref.nuts_code_is_national(record.nuts_code) else None
    if stated and not ref.is_nuts_code(stated):
        warnings.append(f"NUTS code {stated!r} is not in the NUTS 2024 list; kept as written")
        _raw(public, subject, "NUTS-2 kod", stated)
        stated = None
    if stated and region is not None and region.nuts2 and region.nuts2 != stated:
        warnings.append(f"region {record.region_name!r} is {region.nuts2} but the page states NUTS {stated}")
    nuts = stated or (region.nuts2 if region is not None else None)
    if nuts:
        public.add(subject, KG + "nutsRegion", nuts_iri(nuts))
    for name in record.municipalities:
        municipality = ref.resolve_municipality(name)
        if municipality is None:
            warnings.append(f"municipality {name!r} is not a Swedish municipality name; kept as written")
            _raw(public, subject, "Kommun", name)
        else:
            public.add(subject, KG + "municipality", iris.municipality(municipality))
    if record.postal_code or record.city:
        address = NamedNode(f"{subject.value}/address")
        public.typed(address, KG + "Address", VCARD + "Address")
        if record.postal_code:
            public.add(address, VCARD + "postal-code", _lit(record.postal_code))
        if record.city:
            public.add(address, VCARD + "locality", _lit(record.city))
        public.add(subject, KG + "beneficiaryAddress", address)


def _raw(public: _Writer, subject: NamedNode, label: str, value: str) -> None:
    raw = NamedNode(f"{subject.value}/raw/{slug(label)}")
    public.add(subject, KG + "rawField", raw)
    public.typed(raw, KG + "RawField")
    public.add(raw, KG + "rawLabel", _lit(label))
    public.add(raw, KG + "rawValue", _lit(value))


def _map_organisations(public: _Writer, iris: Iris, identity: OrganisationIdentity, record: ProjectRecord,
                       subject: NamedNode) -> None:
    owner_role = "applicant" if kind_of(record) == "partner_search" else "owner"
    mentions: list[tuple[str, str, str | None]] = []
    if record.owner_name or record.owner_org_number:
        mentions.append((owner_role, record.owner_name or record.owner_org_number or "", record.owner_org_number))
    mentions += [("co-financier", name, None) for name in record.co_financiers]
    mentions += [("partner", name, None) for name in record.partners]
    for role, name, number in mentions:
        organisation, municipality, org_number = identity.organisation(iris, name, number)
        public.typed(organisation, KG + "Organisation")
        if name and name != number:
            public.add(organisation, RDFS + "label", _lit(name))
        if org_number:
            registration = NamedNode(f"{organisation.value}/registration")
            public.add(organisation, REGORG + "registration", registration)
            public.typed(registration, ADMS + "Identifier")
            public.add(registration, SKOS + "notation", _lit(org_number))
            public.add(registration, ADMS + "schemaAgency", _lit("Bolagsverket"))
        if municipality is not None:
            public.add(organisation, KG + "governs", iris.municipality(municipality))
        for alias in identity.aliases(iris, name, organisation, org_number):
            public.add(organisation, OWL + "sameAs", alias)
        key = organisation.value.removeprefix(iris.base + "id/organisation/").replace("/", "-")
        participation = NamedNode(f"{subject.value}/participation/{role}/{key}")
        public.typed(participation, KG + "Participation")
        public.add(participation, KG + "participant", organisation)
        public.add(participation, KG + "role", NamedNode(_ROLES[role]))
        public.add(subject, KG + "hasParticipation", participation)


def _map_contact(personal: _Writer, record: ProjectRecord, subject: NamedNode,
                 extra: Mapping[str, object]) -> None:
    details = [record.contact_name, record.contact_email, record.contact_phone,
               *(extra.get(key) for key in _CONTACT_EXTRAS)]
    if not any(details):
        return
    contact = NamedNode(f"{subject.value}/contact")
    personal.add(subject, KG + "contact", contact)
    personal.typed(contact, KG + "Contact", VCARD + "Individual")
    if record.contact_name:
        personal.add(contact, VCARD + "fn", _lit(record.contact_name))
    if record.contact_email:
        personal.add(contact, VCARD + "hasEmail", NamedNode(f"mailto:{record.contact_email}"))
    if record.contact_phone:
        personal.add(contact, VCARD + "hasTelephone", NamedNode(f"tel:{record.contact_phone}"))
    title = extra.get("contact_title")
    if isinstance(title, str):
        personal.add(contact, VCARD + "title", _lit(title))
    address = extra.get("contact_address")
    if isinstance(address, str):
        personal.add(contact, VCARD + "street-address", _lit(address))


def reference_quads(iris: Iris) -> Iterator[Quad]:
    """Municipalities, counties and ESF regions as SKOS concepts, linked to their NUTS regions; the
    Swedish and English names of the programme, programme-area and intervention-type codes.

    The NUTS code list itself is loaded from ``data/reference/nuts.ttl`` by the store.
    """
    graph = _Writer(iris.reference_graph)
    scheme_m, scheme_c, scheme_r = iris.id("municipality"), iris.id("county"), iris.id("esf-region")
    for scheme, label in ((scheme_m, "Swedish municipalities"), (scheme_c, "Swedish counties"),
                          (scheme_r, "ESF regions")):
        graph.typed(scheme, SKOS + "ConceptScheme")
        graph.add(scheme, SKOS + "prefLabel", _lit(label, "en"))
    for county in ref.counties():
        node = iris.county(county)
        graph.typed(node, KG + "County", SKOS + "Concept", SCHEMA + "AdministrativeArea")
        graph.add(node, SKOS + "inScheme", scheme_c)
        graph.add(node, SKOS + "notation", _lit(county.code))
        graph.add(node, SKOS + "prefLabel", _lit(county.name, "sv"))
        graph.add(node, KG + "nutsRegion", nuts_iri(county.nuts3))
    for municipality in ref.municipalities():
        node = iris.municipality(municipality)
        graph.typed(node, KG + "Municipality", SKOS + "Concept", SCHEMA + "AdministrativeArea")
        graph.add(node, SKOS + "inScheme", scheme_m)
        graph.add(node, SKOS + "notation", _lit(municipality.code))
        graph.add(node, SKOS + "prefLabel", _lit(municipality.name, "sv"))
        for alt in municipality.alt_names:
            graph.add(node, SKOS + "altLabel", _lit(alt, "sv"))
        graph.add(node, KG + "county", iris.county(municipality.county))
        graph.add(node, KG + "nutsRegion", nuts_iri(municipality.nuts3))
    for region in ref.esf_regions():
        node = iris.esf_region(region)
        graph.typed(node, KG + "EsfRegion", SKOS + "Concept")
        graph.add(node, SKOS + "inScheme", scheme_r)
        graph.add(node, SKOS + "prefLabel", _lit(region.name, "sv"))
        for alt in region.alt_names:
            graph.add(node, SKOS + "altLabel", _lit(alt, "sv"))
        if region.nuts2:
            graph.add(node, KG + "nutsRegion", nuts_iri(region.nuts2))
        else:
            graph.add(node, KG + "nationalScope", _typed("true", XSD + "boolean"))
    # The names of codes a page gives only as a code: the IRIs are the ones _map_funding mints for them.
    for name in ref.code_labels():
        graph.add(iris.id(name.scheme, _code_segment(name.code)), SKOS + "prefLabel", _lit(name.label, name.language))
    yield from graph.quads


def all_records(results: Sequence[ParseResult]) -> Iterator[ProjectRecord]:
    for result in results:
        yield from result.records
