"""Reading a Word document (DOCX): its paragraphs and tables → the text the engine reads, with the
paragraph of each character.

Each paragraph is a line (a line break in it, a line too); a table's rows are apart by a line break and
each cell is a line of its own, so that a two-column table of labels and values comes out as the
"Label\\nvalue" lines the engine reads; a table has a blank line before and after it. Paragraphs are
numbered as ``(//w:p)[N]`` numbers them in the package's main part (``word/document.xml``): every
``w:p`` in document order, a table cell's included, from 1. The standard library reads the package (a
ZIP file of XML parts): a DOCX needs nothing else, and nothing of it is fetched or expanded beyond a limit.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree import ElementTree

from kgbuild.errors import SourceError
from kgbuild.inputs.positions import PositionMap, TextBuilder

__all__ = ["read_docx", "is_docx"]

_MAIN_PART = "word/document.xml"
# A project description's main part is some hundred kB; a larger one (unpacked) is not one, or a bomb.
MAX_PART_BYTES = 16 * 1024 * 1024
_OFFICE_DOCUMENT_RE = re.compile(r'Type="[^"]*/officeDocument"[^>]*Target="/?([^"]+)"|'
                                 r'Target="/?([^"]+)"[^>]*Type="[^"]*/officeDocument"')
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_NAMESPACES = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
               "http://purl.oclc.org/ooxml/wordprocessingml/main")


def is_docx(data: bytes) -> bool:
    """Whether ``data`` is a ZIP package with a Word document's main part."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return _main_part(package) is not None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
        return False


def read_docx(data: bytes, source: str) -> tuple[str, PositionMap, tuple[str, ...]]:
    """Read a Word document's paragraphs and tables.

    :param data: the file's bytes.
    :param source: the file's name, for messages.
    :return: the text, the map of its characters to their paragraphs (1-based, as ``(//w:p)[N]``
        counts them) and warnings.
    :raises SourceError: for a damaged package, or a document without text.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            name = _main_part(package)
            if name is None:
                raise SourceError(source, "a ZIP file, but not a Word document (no word/document.xml)")
            info = package.getinfo(name)
            if info.file_size > MAX_PART_BYTES:
                raise SourceError(source, f"a Word document too large for a project description ({name}: "
                                          f"{info.file_size} bytes unpacked, limit {MAX_PART_BYTES})")
            xml = package.read(name)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError, EOFError, zlib.error) as exc:
        raise SourceError(source, f"a damaged Word document: {_one_line(exc)}") from None
    if b"<!DOCTYPE" in xml[:4096]:
        raise SourceError(source, "a Word document with a DTD: not what Word writes, not read")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise SourceError(source, f"a damaged Word document: {name}: {_one_line(exc)}") from None
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if namespace not in _NAMESPACES:
        raise SourceError(source, f"a damaged Word document: {name} is not WordprocessingML")
    builder = TextBuilder()
    body = root.find(f"{{{namespace}}}body")
    if body is not None:
        try:
            _Writer(namespace, builder).blocks(body)
        except RecursionError:
            raise SourceError(source, "a damaged Word document: its elements nest too deep to read") from None
    if not builder.text().strip():
        raise SourceError(source, "a Word document without text")
    return builder.text(), builder.map, ()


def _main_part(package: zipfile.ZipFile) -> str | None:
    names = set(package.namelist())
    if "_rels/.rels" in names:
        found = _OFFICE_DOCUMENT_RE.search(package.read("_rels/.rels")[:65536].decode("utf-8", "replace"))
        if found and (found.group(1) or found.group(2)) in names:
            return found.group(1) or found.group(2)
    return _MAIN_PART if _MAIN_PART in names else None


class _Writer:
    """Writes the body's blocks in document order, numbering the paragraphs."""

    def __init__(self, namespace: str, builder: TextBuilder) -> None:
        w = f"{{{namespace}}}"
        self.p, self.tbl, self.tr, self.tc, self.sdt, self.sdt_content = (
            w + "p", w + "tbl", w + "tr", w + "tc", w + "sdt", w + "sdtContent")
        self.t, self.tab, self.br, self.cr, self.hyphen = w + "t", w + "tab", w + "br", w + "cr", w + "noBreakHyphen"
        # Properties (a paragraph's tab stops are w:tab too) and deleted runs are no text; a text box is
        # written twice, as DrawingML and as the VML fallback for old readers: the fallback is skipped.
        self.not_text = frozenset({w + "pPr", w + "rPr", w + "del", w + "moveFrom", _MC_FALLBACK})
        self.builder = builder
        self.paragraphs = 0
        self.in_cell = 0  # an empty paragraph in a table cell is no blank line: the cell is a line

    def blocks(self, parent: ElementTree.Element) -> None:
        for child in parent:
            if child.tag == self.p:
                self.paragraph(child)
            elif child.tag == self.tbl:
                self.table(child)
            elif child.tag == self.sdt:
                for content in child.iter(self.sdt_content):
                    self.blocks(content)
                    break

    def paragraph(self, p: ElementTree.Element) -> None:
        self.paragraphs += 1
        number = self.paragraphs
        nested: list[ElementTree.Element] = []
        text = "".join(self._runs(p, nested)).rstrip()
        if text or not self.in_cell:
            self.builder.add(text + "\n", number, number)
        for inner in nested:  # a text box's paragraphs: after the one that holds them, as (//w:p) counts
            self.paragraph(inner)

    def _runs(self, element: ElementTree.Element, nested: list[ElementTree.Element]) -> Iterator[str]:
        for child in element:
            tag = child.tag
            if tag == self.t:
                yield child.text or ""
            elif tag == self.tab:
                yield "\t"
            elif tag in (self.br, self.cr):
                yield "\n"
            elif tag == self.hyphen:
                yield "-"
            elif tag == self.p:
                nested.append(child)
            elif tag not in self.not_text:
                yield from self._runs(child, nested)

    def table(self, table: ElementTree.Element) -> None:
        self._blank()
        self.in_cell += 1
        for row in table.findall(self.tr):
            for cell in row.findall(self.tc):
                self.blocks(cell)
        self.in_cell -= 1
        self._blank()

    def _blank(self) -> None:
        if self.builder.length and not self.builder.ends_blank():
            self.builder.add("\n", self.paragraphs, self.paragraphs)


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (a refusal is one line)."""
    return " ".join(str(exc).split())
