"""Reading a text file: its bytes → the decoded text (:mod:`kgbuild.decoding`), which is the document.

No position map: a span of the text is a span of the document (line endings read as ``\\n``).
"""

from __future__ import annotations

from kgbuild.decoding import decode_source
from kgbuild.inputs.positions import PositionMap

__all__ = ["read_text"]


def read_text(data: bytes, source: str) -> tuple[str, PositionMap | None, tuple[str, ...]]:
    """Decode a text file (see :func:`kgbuild.decoding.decode_source`).

    >>> read_text("Region:\\r\\nV\\u00e4rmland".encode("utf-8-sig"), "x.txt")
    ('Region:\\nVärmland', None, ())
    """
    decoded = decode_source(data, source)
    return decoded.text, None, decoded.warnings
