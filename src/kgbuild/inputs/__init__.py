"""Inputs: a source file's bytes as published → the text the engine reads, with a map back to the file.

One entry function, :func:`read_input`, and one reader per kind of file, each ``(bytes, file name) →
(text, position map, warnings)``: text (:mod:`.text`), a saved HTML page (:mod:`.html`), a PDF's text
layer (:mod:`.pdf`), a Word document (:mod:`.docx`). The
kind is told by the content (:func:`sniff`), the file's name only breaking ties: a page saved as ``.txt``
is read as HTML, a PDF named ``.html`` as a PDF. Each reader keeps where each character of the text came
from (:class:`~kgbuild.inputs.positions.PositionMap`): for HTML its offset in the page's source, for a
PDF its page, for a DOCX its paragraph. A file of none of these kinds, or one that cannot be read, is a
:class:`~kgbuild.errors.SourceError` naming the file and the reason. This stage imports no RDF library.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from kgbuild.errors import SourceError
from kgbuild.inputs.positions import PositionMap

__all__ = ["InputKind", "InputText", "read_input", "sniff", "SOURCE_SUFFIXES"]

InputKind = Literal["text", "html", "pdf", "docx"]
# The files a directory of sources stands for.
SOURCE_SUFFIXES = (".txt", ".html", ".htm", ".pdf", ".docx")

# WHATWG MIME sniffing's HTML signatures: after white space, one of these tags (then a space or ">").
_HTML_RE = re.compile(rb"\s*<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|"
                      rb"br|p|!--|meta|section|article|main|header|nav)[\s>]", re.IGNORECASE)
# Files that are surely not a project description's text, by their first bytes.
_BINARY = ((b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.doc, .xls) or a password-protected "
                                                  "Office document: save it as .docx without a password"),
           (b"\x89PNG", "an image (PNG): kgbuild reads only text"),
           (b"\xff\xd8\xff", "an image (JPEG): kgbuild reads only text"),
           (b"GIF8", "an image (GIF): kgbuild reads only text"),
           (b"\x1f\x8b", "a gzip-compressed file: unpack it first"),
           (b"{\\rtf", "an RTF document: save it as .docx or .txt"))


@dataclass(frozen=True, slots=True)
class InputText:
    """What a reader made of a file: the text for the engine, the file's kind, the map of each character
    of the text back to the file (``None`` for a text file: the text is the file), and what the reader
    noticed."""

    text: str
    kind: InputKind
    positions: PositionMap | None = None
    warnings: tuple[str, ...] = ()


def sniff(data: bytes, source: str) -> InputKind:
    """The kind of a file, told by its content; its name only when the content does not tell.

    :raises SourceError: for a file that is surely no text kgbuild reads (an image, an archive).

    >>> sniff(b"%PDF-1.7 ...", "page.html"), sniff(b"<!DOCTYPE html><p>x", "page.txt"), sniff(b"Region: X", "a")
    ('pdf', 'html', 'text')
    """
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        from kgbuild.inputs.docx import is_docx

        if is_docx(data):
            return "docx"
        raise SourceError(source, "a ZIP file, but not a Word document (no word/document.xml)")
    for magic, reason in _BINARY:
        if data.startswith(magic):
            raise SourceError(source, reason)
    suffix = source.rsplit(".", 1)[-1].lower() if "." in source else ""
    if _HTML_RE.match(_ascii_head(head)) or suffix in ("html", "htm", "xhtml"):
        return "html"
    if suffix == "pdf":
        raise SourceError(source, "named .pdf but not a PDF (no %PDF- header)")
    if suffix == "docx":
        raise SourceError(source, "named .docx but not a Word document (not a ZIP package)")
    return "text"


def read_input(data: bytes, source: str) -> InputText:
    """Read a source file as what it is (see :func:`sniff`).

    :param data: the file's bytes.
    :param source: the file's name, for messages (and, when the content does not tell, its kind).
    :return: the text the engine reads and its map back to the file.
    :raises SourceError: when the file is of no kind kgbuild reads, or cannot be read.

    >>> read = read_input(b"<html><nav>Menu</nav><p>Region: V&auml;rmland</p></html>", "x.html")
    >>> read.kind, read.text, read.positions.span(8, 16)
    ('html', 'Region: Värmland\\n\\n', (32, 45))
    """
    kind = sniff(data, source)
    text, positions, warnings = _reader(kind)(data, source)
    return InputText(text, kind, positions, warnings)


Reader = Callable[[bytes, str], tuple[str, PositionMap | None, tuple[str, ...]]]


def _reader(kind: InputKind) -> Reader:
    """The reader of a kind, imported when first needed (pypdf only for a PDF)."""
    if kind == "html":
        from kgbuild.inputs.html import read_html
        return read_html
    if kind == "pdf":
        from kgbuild.inputs.pdf import read_pdf
        return read_pdf
    if kind == "docx":
        from kgbuild.inputs.docx import read_docx
        return read_docx
    from kgbuild.inputs.text import read_text
    return read_text


def _ascii_head(head: bytes) -> bytes:
    """The first bytes as ASCII-compatible bytes: a UTF-16 page's are every other byte; a BOM is left out."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, "ignore").encode("ascii", "ignore")
    return head[3:] if head.startswith(codecs.BOM_UTF8) else head
