"""Running a read-only SPARQL query on the published graph, and serialising its results.

Shared by ``kgbuild query`` and the server. Every query is checked first (:mod:`kgbuild.sparql`):
updates and SERVICE calls off the allow-list are refused before anything runs. The dataset a query
sees is always given explicitly: the public graphs (union as the default graph), narrowed by the
request's ``default-graph-uri``/``named-graph-uri`` or the query's ``FROM``/``FROM NAMED``, never
widened — so personal data stays out unless the operator opted in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, TypeVar

from pyoxigraph import (
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    serialize,
)

from kgbuild.errors import KgbuildError
from kgbuild.merge import has_merge
from kgbuild.sparql import QueryInfo, QueryRefused
from kgbuild.vocab import PREFIXES

__all__ = ["Dataset", "dataset_for", "execute", "RESULT_FORMATS", "GRAPH_FORMATS", "QueryResult",
           "serialise_result", "QUERY_STACK_BYTES", "on_query_stack"]

# pyoxigraph parses and evaluates recursively: a long chain in a query (1+1+…, !!!…, A UNION B UNION …)
# overflows a default 8 MB stack and kills the process with SIGSEGV. So queries run on threads with a
# large stack (address space: pages are only committed when touched), where each query is run and its
# result consumed, as it must be: on one thread. Longer chains than this stack holds are refused before
# they run (kgbuild.sparql.MAX_OPERATORS).
QUERY_STACK_BYTES = 256 * 1024 * 1024

QueryResult = QuerySolutions | QueryBoolean | QueryTriples

RESULT_FORMATS = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML, "csv": QueryResultsFormat.CSV,
                  "tsv": QueryResultsFormat.TSV}
GRAPH_FORMATS = {"turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES, "jsonld": RdfFormat.JSON_LD,
                 "rdfxml": RdfFormat.RDF_XML, "nquads": RdfFormat.N_QUADS, "trig": RdfFormat.TRIG}


@dataclass(frozen=True)
class Dataset:
    """What a query sees: the graphs merged as its default graph, and its named graphs.

    ``union`` means every graph of the store (all public: personal data lives in another database):
    the store's default graph, which holds their merge (:mod:`kgbuild.merge`). Graphs listed one by
    one (``FROM``, ``default-graph-uri``) Oxigraph reads as a union that repeats a triple stated by
    several of them (oxigraph#1919).
    """

    default_graph: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    union: bool = False


def dataset_for(public: Sequence[str] | None, info: QueryInfo, default_graph_uris: Sequence[str] = (),
                named_graph_uris: Sequence[str] = ()) -> Dataset:
    """The dataset of one request (SPARQL 1.1 Protocol §2.1.4): protocol parameters win over FROM
    clauses, which win over the default (the union of the store's graphs). A named graph that is not
    in ``public`` (when given) is dropped: a request can narrow the dataset, never widen it.
    """
    if default_graph_uris or named_graph_uris:
        default, named = list(default_graph_uris), list(named_graph_uris)
    elif info.from_graphs or info.from_named_graphs:
        default, named = list(info.from_graphs), list(info.from_named_graphs)
    else:
        return Dataset(union=True)
    allowed = set(public) if public is not None else None
    return Dataset(tuple(g for g in default if allowed is None or g in allowed),
                   tuple(g for g in named if allowed is None or g in allowed))


def execute(store: Store, text: str, dataset: Dataset, base_iri: str | None = None,
            merged: bool | None = None) -> QueryResult:
    """Run a checked query on ``store`` over ``dataset``.

    ``merged`` says whether the store keeps the merge of its graphs (:func:`kgbuild.merge.has_merge`); a
    caller that runs many queries on one read-only store asks once (a RocksDB iterator, 14 µs a query).

    :raises QueryRefused: (400) when pyoxigraph cannot parse the query.
    """
    try:
        if dataset.union:
            if has_merge(store) if merged is None else merged:  # the default graph is the merge (kgbuild.merge)
                return store.query(text, base_iri=base_iri)
            return store.query(text, base_iri=base_iri, use_default_graph_as_union=True)  # an older store
        return store.query(text, base_iri=base_iri, default_graph=[NamedNode(g) for g in dataset.default_graph],
                           named_graphs=[NamedNode(g) for g in dataset.named_graphs])
    except SyntaxError as exc:
        raise QueryRefused(400, f"malformed query: {exc}") from None


def serialise_result(result: QueryResult | Iterable[Triple], output: IO[bytes], format_name: str | None) -> None:
    """Write a result in the named format (``json``, ``csv``, ``turtle`` ...); a sensible default if None.

    ``result`` may also be triples: a graph answer read from a remote store.
    """
    if not isinstance(result, QuerySolutions | QueryBoolean):
        graph_format = GRAPH_FORMATS.get(format_name or "turtle")
        if graph_format is None:
            raise KgbuildError(f"a graph result is written as one of {', '.join(GRAPH_FORMATS)}, not {format_name}")
        prefixes = PREFIXES if graph_format in (RdfFormat.TURTLE, RdfFormat.TRIG) else None
        # QueryTriples.serialize takes no prefixes; the module-level serialize does.
        serialize(result, output, format=graph_format, prefixes=prefixes)
        return
    results_format = RESULT_FORMATS.get(format_name or "tsv")
    if results_format is None:
        raise KgbuildError(f"a result table is written as one of {', '.join(RESULT_FORMATS)}, not {format_name}")
    result.serialize(output, format=results_format)


_T = TypeVar("_T")


def on_query_stack(function: Callable[[], _T]) -> _T:
    """``function()`` on a thread with a ``QUERY_STACK_BYTES`` stack; its exception, if any, is raised here."""
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread as it is
            outcome.append((False, exc))

    previous = threading.stack_size(QUERY_STACK_BYTES)
    try:
        thread = threading.Thread(target=run, name="kgbuild-query", daemon=True)  # daemon: Ctrl-C ends the CLI
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]
