"""Reading a saved HTML page: its bytes → the text the engine reads best, with each character's offset
in the HTML source.

The page is decoded by its byte order mark, else the charset its ``<meta>`` declares, else as a text file
is (UTF-8, then Windows-1252). Markup is read as a browser lays it out, in lines: each block (a heading,
a paragraph, a list item, a ``dt`` or a ``dd``, a table cell) is a line of its own, so a definition list
or a table of labels and values comes out as the "Label\\nvalue" lines the engine reads; a short bold
label that starts a line (``<strong>Projektägare</strong> Region X``) is put on a line of its own too,
unless it ends in a colon ("Label: value" is read as it is). A table whose first row is a row of column
headings (``th`` cells, two or more, none spanning) is not read one cell a line, which gave a heading the
next heading as its value and a row's cells to the headings' labels: with one row under the headings, each
cell is read as "Heading: value" (the heading's text standing for its cell); with several, each row is a
line of its cells ("A; Sverige; Projektägare"), as a heading met again on every row would start a record
on every row. Navigation, the page's header and footer (not an article's), scripts, styles, forms'
controls, hidden elements and cookie banners are left out.
Broken markup is read as far as it goes, never refused; Python's own tolerant ``html.parser`` reads it,
because it is the parser that reports where in the source each piece of text is.
"""

from __future__ import annotations

import codecs
import html
import re
from html.parser import HTMLParser

from kgbuild.decoding import decode_source
from kgbuild.errors import SourceError
from kgbuild.inputs.positions import PositionMap, TextBuilder

__all__ = ["read_html", "html_encoding", "page_position"]

# Elements whose content is never page text.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "math", "iframe",
                      "object", "canvas", "button", "select", "textarea", "nav", "dialog", "audio", "video",
                      "map"})
# A page's header and footer (site chrome); inside an article, a section, an aside or main they are
# that content's own (a project's heading is often in its article's header).
_CHROME = frozenset({"header", "footer"})
_CONTENT = frozenset({"article", "main", "section", "aside"})
_CHROME_ROLES = frozenset({"navigation", "search", "banner", "contentinfo", "menubar", "menu", "dialog",
                           "alertdialog"})
_CHROME_ATTR_RE = re.compile(r"cookie|consent|gdpr|onetrust|cookiebot|skip-?link|breadcrumb|sr-only|"
                             r"visually-?hidden|screen-?reader", re.IGNORECASE)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})
# A block that is a paragraph of its own (a blank line around it) and one that is only a line.
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "section",
                        "article", "blockquote", "pre", "figure", "address", "main", "aside", "header",
                        "footer", "details", "fieldset", "hgroup"})
_LINE = frozenset({"div", "li", "dt", "dd", "tr", "td", "th", "caption", "figcaption", "summary", "legend",
                   "body", "html", "center", "form", "label", "option", "tbody", "thead", "tfoot", "dir",
                   "menu"})
# Starting one of these closes an open element the browser would close (``<li>`` an open ``<li>``).
_CLOSES = {"p": {"p"}, "li": {"li", "p"}, "dt": {"dt", "dd", "p"}, "dd": {"dt", "dd", "p"},
           "td": {"td", "th", "p"}, "th": {"td", "th", "p"}, "tr": {"tr", "td", "th", "p"}, "option": {"option"}}
# What a head holds; any other element starts the body (and ends an unclosed head).
_HEAD = frozenset({"title", "meta", "link", "style", "script", "noscript", "base", "template", "head"})
_BOLD = frozenset({"strong", "b"})
_SPACE = " \t\n\f\r"
_RUN_RE = re.compile(r"[^ \t\n\f\r]+(?: [^ \t\n\f\r]+)*")  # words apart by single spaces: the source's own
_LABEL_MAX_WORDS = 5
_TABLE_PARTS = frozenset({"table", "tr", "td", "th"})
_TABLE_START_RE = re.compile(r"<table\b", re.IGNORECASE)
_TABLE_END_RE = re.compile(r"</table\s*>", re.IGNORECASE)
_ROW_START_RE = re.compile(r"<tr\b", re.IGNORECASE)


def _table_end(page: str, at: int) -> int:
    end = _TABLE_END_RE.search(page, at)
    return end.start() if end else len(page)

# WHATWG "prescan": the charset a page declares in its first 1024 bytes.
_META_CHARSET_RE = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# Labels the WHATWG Encoding standard reads as another encoding than Python's codec of that name.
_WHATWG = {"iso-8859-1": "windows-1252", "latin1": "windows-1252", "latin-1": "windows-1252",
           "us-ascii": "windows-1252", "ascii": "windows-1252", "iso8859-1": "windows-1252",
           "utf-16": "utf-8", "utf-16le": "utf-8", "utf-16be": "utf-8", "x-user-defined": "windows-1252"}


def html_encoding(data: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` of its first 1024 bytes, as Python's codec name.

    >>> html_encoding(b'<html><head><meta charset="ISO-8859-1">'), html_encoding(b"<p>x</p>")
    ('cp1252', None)
    """
    found = _META_CHARSET_RE.search(data[:1024])
    if not found:
        return None
    label = found.group(1).decode("ascii").lower()
    label = _WHATWG.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def read_html(data: bytes, source: str) -> tuple[str, PositionMap, tuple[str, ...]]:
    """Read a saved HTML page.

    :param data: the page's bytes.
    :param source: the file's name, for messages.
    :return: the text the engine reads, the map of its characters to offsets in the decoded HTML source
        (its characters, a byte order mark left out; line endings as the file has them), and warnings.
    :raises SourceError: when the bytes are not text (a binary file named ``.html``) or hold no text.

    >>> text, positions, _ = read_html(b"<nav>Home</nav><dl><dt>Region</dt><dd>V&auml;rmland</dd></dl>", "x.html")
    >>> text
    'Region\\nVärmland\\n\\n'
    >>> positions.span(7, 15)
    (38, 51)
    """
    page, warnings = _decode(data, source)
    reader = _Reader(page)
    try:
        reader.feed(page)
        reader.close()
    except (AssertionError, ValueError, IndexError) as exc:  # html.parser's last resort on hopeless markup
        warnings.append(f"the markup could not be read to its end ({' '.join(str(exc).split())}); "
                        "read as far as it went")
    text = reader.builder.text()
    if not text.strip():
        raise SourceError(source, "an HTML page without text (only markup, scripts or navigation)")
    return text, reader.builder.map, tuple(warnings)


def page_position(data: bytes, source: str, offset: int) -> tuple[int, int]:
    """The line and column (1-based) of a character offset into a page's source, for a message.

    >>> page_position(b"<html>\\r\\n<p>Region: X</p>", "x.html", 11)
    (2, 4)
    """
    page, _ = _decode(data, source)
    return page.count("\n", 0, offset) + 1, offset - page.rfind("\n", 0, offset)


def _decode(data: bytes, source: str) -> tuple[str, list[str]]:
    try:
        return _decode_page(data, source)
    except SourceError as exc:
        raise SourceError(source, f"not an HTML page: {exc.problem}") from None


def _decode_page(data: bytes, source: str) -> tuple[str, list[str]]:
    declared = None if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) \
        else html_encoding(data)
    warnings: list[str] = []
    if declared is not None:
        try:
            data.decode(declared)
        except UnicodeDecodeError as exc:
            warnings.append(f"the page declares {declared} but is not ({exc.reason} at byte {exc.start}): "
                            "read by what its bytes are")
        else:
            decoded = decode_source(data, source, encoding=declared, newlines=False)
            return decoded.text, warnings + list(decoded.warnings)
    decoded = decode_source(data, source, newlines=False)
    return decoded.text, warnings + list(decoded.warnings)


class _Table:
    """An open table: its rows so far, the cells of its first row, and its column headings, if it has them."""

    def __init__(self) -> None:
        self.rows = 0
        self.column = -1
        self.row_mark = 0  # where the first row's text starts (it is forgotten if it is a heading row)
        self.first_row: list[tuple[str, int, int]] = []  # each cell of the first row: tag, marks of its text
        self.cell: tuple[str, int] | None = None  # the open cell of the first row: its tag and text mark
        self.spanned = False  # a cell spans columns or rows: columns and headings no longer line up
        self.headings: list[tuple[str, int, int] | None] | None = None  # text and span of each heading
        self.one_line_rows = False  # rows of cells on one line each, after a heading row of several rows
        self.row_written = False  # the current row has text
        self.pending: list[tuple[str, int, int]] = []  # what to write before a cell's first text, with spans


class _Reader(HTMLParser):
    """Lays the page out as lines, writing each piece of text with its place in the source."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=False)
        self.page = page
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", page)]
        self.builder = TextBuilder()
        # Open elements: (tag, skipped here, content here); and how many of each tag are open.
        self.stack: list[tuple[str, bool, bool]] = []
        self.open: dict[str, int] = {}
        self.skipping = 0
        self.content = 0
        self.pre = 0
        self.space: tuple[int, int] | None = None  # a run of white space to write before more text
        self.label: tuple[int, int] | None = None  # an open bold element that starts a line: (depth, text at)
        self.label_break = False  # a short label just closed: what follows goes on the next line
        self.tables: list[_Table] = []  # the open tables, innermost last

    # -- positions --------------------------------------------------------------------------------
    def _here(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    # -- writing ----------------------------------------------------------------------------------
    def _break(self, at: int, blank: bool) -> None:
        self.space, self.label_break = None, False
        b = self.builder
        if b.length == 0:
            return
        if b.last_char() != "\n":
            b.add("\n", at, at)
        if blank and not b.ends_blank():
            b.add("\n", at, at)

    def _write(self, text: str, origin: int, end: int, verbatim: bool) -> None:
        b = self.builder
        table = self.tables[-1] if self.tables else None
        if table is not None:
            for piece in table.pending:
                b.add(*piece)
            table.pending = []
            table.row_written = True
        if self.label_break:
            self.label_break = False
            if b.length and b.last_char() != "\n":
                b.add("\n", *(self.space or (origin, origin)))
            self.space = None
        if self.space is not None:
            if b.length and b.last_char() != "\n":
                b.add(" ", *self.space)
            self.space = None
        b.add(text, origin, end, verbatim=verbatim)

    def _text(self, data: str, origin: int) -> None:
        if self.pre:
            self._write(data, origin, origin + len(data), True)
            return
        at = 0
        for run in _RUN_RE.finditer(data):
            if run.start() > at:
                self.space = (origin + at, origin + run.start())
            self._write(run.group(), origin + run.start(), origin + run.end(), True)
            at = run.end()
        if at < len(data):
            self.space = (origin + at, origin + len(data))

    # -- parser events ----------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._here()
        if tag in _VOID:
            if tag in ("br", "hr") and not self.skipping:
                self._break(at, blank=False)
            return
        if self.open.get("head") and tag not in _HEAD:  # the body has begun, whether the page says so or not
            while self._pop() != "head":
                pass
        closes = _CLOSES.get(tag)
        while closes and self.stack and self.stack[-1][0] in closes:
            self._pop()
        skip = tag in _SKIPPED or self._chrome(tag, attrs)
        content = tag in _CONTENT or dict(attrs).get("role") in ("main", "article")
        self.stack.append((tag, skip, content))
        self.open[tag] = self.open.get(tag, 0) + 1
        self.skipping += skip
        self.content += content
        if self.skipping:
            return
        if tag == "pre":
            self.pre += 1
        same_line = tag in _TABLE_PARTS and self._table_starts(tag, attrs, at)
        if (tag in _PARAGRAPH or tag in _LINE) and not same_line:
            self._break(at, blank=tag in _PARAGRAPH)
        elif tag in _BOLD and self.label is None and self.builder.last_char() == "\n":
            self.label = (len(self.stack), self.builder.mark())
        if tag in ("td", "th") and self.tables and self.tables[-1].rows == 1:
            self.tables[-1].cell = (tag, self.builder.mark())

    def handle_endtag(self, tag: str) -> None:
        if not self.open.get(tag):
            return
        at = self._here()
        while self.stack:
            popped = self._pop()
            if popped == tag:
                break
        if self.skipping:
            return
        if tag in ("td", "th") and self.tables and self.tables[-1].one_line_rows:
            return  # the row's next cell goes on its line
        if tag in _PARAGRAPH or tag in _LINE:
            self._break(at, blank=tag in _PARAGRAPH)

    def _pop(self) -> str:
        tag, skip, content = self.stack.pop()
        self.open[tag] -= 1
        if tag in _TABLE_PARTS:
            self._table_ends(tag)
        was_skipping = self.skipping
        self.skipping -= skip
        self.content -= content
        if tag == "pre" and not was_skipping:
            self.pre -= 1
        if self.label is not None and len(self.stack) < self.label[0]:
            written = self.builder.since(self.label[1]).strip()
            self.label = None
            if written and not written.endswith(":") and len(written.split()) <= _LABEL_MAX_WORDS:
                self.label_break = True
        return tag

    # -- tables with a heading row ------------------------------------------------------------------
    def _table_starts(self, tag: str, attrs: list[tuple[str, str | None]], at: int) -> bool:
        """Note a table, a row or a cell opening; whether the cell goes on its row's line."""
        if tag == "table":
            self.tables.append(_Table())
            return False
        if not self.tables:
            return False
        table = self.tables[-1]
        if tag == "tr":
            table.rows += 1
            table.column = -1
            table.pending, table.row_written = [], False
            if table.rows == 1:
                table.row_mark = self.builder.mark()
            return False
        table.column += 1
        values = dict(attrs)
        if (values.get("colspan") or "1").strip() != "1" or (values.get("rowspan") or "1").strip() != "1":
            table.spanned = True
        if table.one_line_rows:
            table.pending = [("; ", at, at)] if table.row_written else []
            return table.row_written
        if table.headings is not None and not table.spanned and table.column < len(table.headings):
            heading = table.headings[table.column]
            table.pending = [heading, (": ", at, at)] if heading is not None else []
        return False

    def _table_ends(self, tag: str) -> None:
        if self.skipping or not self.tables:
            return  # an element of a skipped part (its table was never opened here)
        table = self.tables[-1]
        if tag == "table":
            self.tables.pop()
        elif tag in ("td", "th"):
            table.pending = []  # an empty cell: no heading without a value
            if table.cell is not None and table.rows == 1:
                cell_tag, mark = table.cell
                table.cell = None
                table.first_row.append((cell_tag, mark, self.builder.mark()))
        elif tag == "tr" and table.rows == 1:
            self._heading_row_ends(table)

    def _heading_row_ends(self, table: _Table) -> None:
        """The first row is the table's headings when it is two or more ``th`` cells, none spanning: its text
        is forgotten, and the rows under it are read as the module says."""
        cells = table.first_row
        if len(cells) < 2 or table.spanned or any(cell_tag != "th" for cell_tag, _, _ in cells):
            return
        headings: list[tuple[str, int, int] | None] = []
        for _, mark, until in cells:
            written = " ".join(self.builder.since(mark, until).split()).rstrip(":").rstrip()
            span = self.builder.origin_between(mark, until)
            headings.append((written, *span) if written and span else None)
        # The rows still to come, counted in the source: a table nested in this one leaves it as it is.
        at = self._here()
        rest = self.page[at:_table_end(self.page, at)]
        if _TABLE_START_RE.search(rest):
            return
        rows = len(_ROW_START_RE.findall(rest))
        if rows == 0:
            return  # headings over nothing: kept as lines
        table.headings, table.one_line_rows = (headings, False) if rows == 1 else (None, True)
        self.builder.rewind(table.row_mark)

    def _chrome(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        values = dict(attrs)
        if "hidden" in values or values.get("aria-hidden") == "true":
            return True
        if re.search(r"display\s*:\s*none", values.get("style") or ""):
            return True
        if (tag in _CHROME or values.get("role") in ("banner", "contentinfo")) and not self.content:
            return True
        if values.get("role") in _CHROME_ROLES - {"banner", "contentinfo"}:
            return True
        return bool(_CHROME_ATTR_RE.search(f"{values.get('id') or ''} {values.get('class') or ''}"))

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._text(data, self._here())

    def handle_entityref(self, name: str) -> None:
        self._written_reference(f"&{name}")

    def handle_charref(self, name: str) -> None:
        self._written_reference(f"&#{name}")

    def _written_reference(self, written: str) -> None:
        """A character reference as the page writes it (``&amp``, ``&#228``), its ";" optional there."""
        if self.skipping:
            return
        at = self._here()
        end = at + len(written)
        end += self.page.startswith(";", end)
        self._reference(html.unescape(written + ";"), at, end)

    def _reference(self, char: str, at: int, end: int) -> None:
        if char == "\u00ad":  # a soft hyphen is where a browser may break a word: not a character of it
            return
        if char and all(c in _SPACE for c in char) and not self.pre:
            self.space = (at, end)
        else:
            self._write(char, at, end, False)
