"""How a compiled check reads the data: a triple pattern over a source graph (and the reference graph),
and a SELECT read to its end.

Why it exists apart from the compiler and the runner: both the shape compiler (:mod:`.compiler`) and the
SPARQL-constraint rewriter (:mod:`.sparql_constraints`) write triple patterns the runner (:mod:`.runner`)
later fills in (``%%REF%%``, the reference graph of a run); the three share these few functions, and
this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyoxigraph import NamedNode, QuerySolution, QuerySolutions, Store

__all__ = ["FOCUS", "ANY", "access", "own_subject", "select"]

FOCUS, ANY = "focus", "any"  # how triples about a node are read: its source graph / source + reference


def select(store: Store, query: str, functions: Mapping[NamedNode, Callable[..., Any]] | None = None
           ) -> list[QuerySolution]:
    """The rows of a SELECT, read to the end in this thread.

    pyoxigraph's result iterators may only be dropped by the thread that made them. A profiler that
    samples stack frames (every Dask worker's does) keeps the frame of a function that has returned
    alive, with its local variables, and drops it from another thread: so no local variable may still
    hold the iterator when this function returns.
    """
    solutions = store.query(query, custom_functions=dict(functions or {}))
    try:
        assert isinstance(solutions, QuerySolutions)
        return list(solutions)
    finally:
        del solutions


def access(s: str, p: str, o: str, scope: str) -> str:
    """One triple pattern, as ``validate_quads`` sees it: the source graph, or also the reference data.

    >>> access("?this", "<http://example.org/p>", "?v", FOCUS)
    'GRAPH ?kg_g { ?this <http://example.org/p> ?v }'
    """
    if scope == FOCUS:
        return f"GRAPH ?kg_g {{ {s} {p} {o} }}"
    return (f"{{ {{ GRAPH ?kg_g {{ {s} {p} {o} }} }} UNION "
            f"{{ GRAPH %%REF%% {{ {s} {p} {o} }} FILTER(!isBlank({s})) }} }}")


def own_subject(var: str) -> str:
    """A filter keeping the IRIs that are subjects in the source graph ``?kg_g``."""
    return f"FILTER(isIRI({var})) FILTER EXISTS {{ GRAPH ?kg_g {{ {var} ?kg_op ?kg_oo }} }}"
