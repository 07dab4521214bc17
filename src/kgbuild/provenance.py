"""What the build graph records of each loaded graph: its content hash, when, from which source, and
the owners that source states (PROV-O and ``kg:`` statements in ``iris.build_graph``).

Input: a loaded graph and what it came from; output: its build record's quads. The load stages (the
embedded store's, :mod:`kgbuild.load`, and the remote one's, :mod:`kgbuild.remote_build`) write them;
:mod:`kgbuild.plan` reads them back to know what a store holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from pyoxigraph import Literal, NamedNode, Quad

from kgbuild.handoffs import PreparedSource
from kgbuild.iris import Iris
from kgbuild.vocab import KG, PROV, XSD

__all__ = ["STATED_OWNER", "owner_text", "owner_of", "literal_time", "build_record", "build_records"]


# In the build graph, on a source's graph: an owner the source states with its organisationsnummer, as
# "NUMBER NAME". A later build that is not given this source takes its organisation identities from here.
STATED_OWNER = KG + "statedOwner"


def owner_text(owner: tuple[str, str]) -> str:
    """An owner as the build graph records it (an organisationsnummer is ten digits: no space).

    >>> owner_text(("2120001850", "Karlstads kommun")), owner_of("2120001850 Karlstads kommun")
    ('2120001850 Karlstads kommun', ('2120001850', 'Karlstads kommun'))
    """
    return f"{owner[0]} {owner[1]}"


def owner_of(text: str) -> tuple[str, str]:
    number, _, name = text.partition(" ")
    return number, name


def literal_time(moment: dt.datetime, precise: bool = False) -> Literal:
    moment = moment if precise else moment.replace(microsecond=0)
    return Literal(moment.isoformat(), datatype=NamedNode(XSD + "dateTime"))


def build_record(graph: NamedNode, iris: Iris, digest: str, stamp: Literal, document: NamedNode | None,
                 owners: Sequence[tuple[str, str]] = ()) -> list[Quad]:
    """What the build graph says of one loaded graph: its content hash, when, from which source, and the
    owners that source states (:data:`STATED_OWNER`)."""
    build = iris.build_graph
    meta = [
        Quad(graph, NamedNode(KG + "contentHash"), Literal(digest), build),
        Quad(graph, NamedNode(PROV + "generatedAtTime"), stamp, build),
    ]
    if document is not None:
        meta.append(Quad(graph, NamedNode(PROV + "wasDerivedFrom"), document, build))
    meta += [Quad(graph, NamedNode(STATED_OWNER), Literal(owner_text(owner)), build) for owner in owners]
    return meta


def build_records(items: Iterable[PreparedSource], iris: Iris, stamp: Literal) -> Iterator[Quad]:
    for item in items:
        yield from build_record(NamedNode(item.graph), iris, item.digest, stamp,
                                iris.id("source", iris.source_key(item.source)), item.owners)
