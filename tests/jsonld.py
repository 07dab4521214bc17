"""Reading kgbuild's compact JSON-LD back: pyoxigraph loads no remote context, so the context a document
names by URL (``<base>ns/context.jsonld``) is put in its place, as a JSON-LD processor that fetched it would."""

from __future__ import annotations

import json
from typing import Any

from pyoxigraph import Quad, RdfFormat, parse

from kgbuild.jsonld import CONTEXT_PATH, load_context


def inline_context(data: bytes, context: dict[str, Any] | None = None) -> bytes:
    """The document with its ``@context`` URL replaced by the context itself (the shipped one by default)."""
    document = json.loads(data)
    assert isinstance(document["@context"], str) and document["@context"].endswith("/" + CONTEXT_PATH), \
        document["@context"]
    document["@context"] = (context or load_context().document)["@context"]
    return json.dumps(document).encode()


def parse_rdf(data: bytes, rdf_format: RdfFormat, context: dict[str, Any] | None = None) -> list[Quad]:
    """Every statement of ``data``; a JSON-LD document is read with kgbuild's context."""
    if rdf_format == RdfFormat.JSON_LD:
        data = inline_context(data, context)
    return list(parse(data, format=rdf_format))
