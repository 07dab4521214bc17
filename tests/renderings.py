"""Source texts rendered as the files they are published as: an HTML page, a Word document, a PDF.

Each rendering is made by a real tool at test time (the HTML as a site's template writes it; python-docx;
fpdf2 with an embedded TrueType font, so the PDF has a text layer), from the text's own structure: its
"Label:\\nvalue" and "Label: value" lines become a definition list or a table of labels and values, its
other lines paragraphs. The benchmarks render with the same functions.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "blocks", "render_html", "render_docx", "render_pdf", "FONT"]

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_LABEL_RE = re.compile(r"^[^\W\d][^:.!?]{0,60}:$")
_INLINE_RE = re.compile(r"^([^\W\d][^:.!?]{0,50}):[ \t]+(\S.*)$")


@dataclass(frozen=True)
class Block:
    """A stretch of a text between blank lines: label/value pairs, each a "Label:" line then its value
    line (``pairs``), or "Label: value" lines (``inline``, label and value), or other lines."""

    pairs: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    inline: tuple[tuple[str, str], ...] = ()


def blocks(text: str) -> list[Block]:
    """The text's blocks: a block whose lines are all "Label:" then value is pairs, all "Label: value" inline.

    >>> found = blocks("T\\n\\nRegion:\\nSE31\\nFond:\\nESF+\\n\\nProgramme: X\\n")
    >>> [(len(b.pairs), len(b.inline), len(b.lines)) for b in found]
    [(0, 0, 1), (2, 0, 0), (0, 1, 0)]
    """
    out: list[Block] = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = [line.strip() for line in chunk.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        if len(lines) % 2 == 0 and all(_LABEL_RE.match(lines[i]) and not _LABEL_RE.match(lines[i + 1])
                                       for i in range(0, len(lines), 2)):
            out.append(Block(pairs=tuple((lines[i], lines[i + 1]) for i in range(0, len(lines), 2))))
        elif all(_INLINE_RE.match(line) for line in lines):
            found = [_INLINE_RE.match(line) for line in lines]
            out.append(Block(inline=tuple((m.group(1) + ":", m.group(2)) for m in found if m)))
        else:
            out.append(Block(lines=tuple(lines)))
    return out


_PAGE_HEAD = """<!DOCTYPE html>
<html lang="sv">
<head>
  <meta charset="{charset}">
  <title>{title} | Europeiska socialfonden</title>
  <link rel="stylesheet" href="/static/site.css">
  <style>body {{ font-family: sans-serif; }} .label::after {{ content: ":"; }}</style>
  <script>window.dataLayer = []; var config = {{"Projektägare": "Not this one AB", "Startdatum": "1999-01-01"}};
  </script>
</head>
<body class="page project-page">
  <div id="cookie-banner" class="cookie-consent" role="dialog">
    <p>Vi använder kakor (cookies) för att webbplatsen ska fungera. Projektägare: Cookie Corp AB</p>
    <button type="button">Godkänn alla</button>
  </div>
  <header class="site-header">
    <a class="logo" href="/"><img src="/logo.svg" alt="Startsida"></a>
    <nav aria-label="Huvudmeny"><ul><li><a href="/">Hem</a></li><li><a href="/projekt">Projekt</a></li>
      <li><a href="/kontakt">Kontakt</a></li></ul></nav>
  </header>
  <nav class="breadcrumb"><a href="/">Hem</a> &gt; <a href="/projekt">Projekt</a></nav>
  <main id="content">
    <article class="project">
"""
_PAGE_FOOT = """    </article>
  </main>
  <footer class="site-footer">
    <p>Box 471, 101 29 Stockholm &middot; Telefon 08-579 171 00 &middot; Organisationsnummer 202100-6081</p>
  </footer>
  <script src="/static/app.js"></script>
  <script>document.querySelector('.cookie-consent button').onclick = function () {{ /* <p>x</p> */ }};</script>
</body>
</html>
"""


def _escape(text: str, entities: bool) -> str:
    escaped = html.escape(text, quote=False)
    if entities:  # what older sites' editors write: named references for the letters of the language
        escaped = escaped.replace("ä", "&auml;").replace("ö", "&ouml;").replace("\u00a0", "&nbsp;")
    return escaped


def render_html(text: str, *, table: bool = False, charset: str = "utf-8") -> bytes:
    """A realistic project page of ``text``: site chrome around an article of its blocks.

    Label/value pairs become a ``<dl>`` (or, with ``table``, a two-column ``<table>`` of ``th``/``td``);
    other blocks paragraphs, their lines apart by ``<br>``. The page is encoded in ``charset``, and
    declares it.
    """
    parts: list[str] = []
    found = blocks(text)
    title = found[0].lines[0] if found and found[0].lines else "Projekt"
    for index, block in enumerate(found):
        entities = index % 2 == 1
        if block.pairs and table:
            rows = "\n".join(f"        <tr><th scope=\"row\">{_escape(label, entities)}</th>"
                             f"<td>{_escape(value, entities)}</td></tr>" for label, value in block.pairs)
            parts.append(f"      <table class=\"facts\">\n        <tbody>\n{rows}\n        </tbody>\n      </table>")
        elif block.pairs:
            rows = "\n".join(f"        <dt>{_escape(label, entities)}</dt>\n        <dd>{_escape(value, entities)}</dd>"
                             for label, value in block.pairs)
            parts.append(f"      <dl class=\"facts\">\n{rows}\n      </dl>")
        elif block.inline:
            body = "<br>\n        ".join(f"<strong>{_escape(label, entities)}</strong> {_escape(value, entities)}"
                                        for label, value in block.inline)
            parts.append(f"      <p>\n        {body}\n      </p>")
        elif index == 0 and len(block.lines) == 1:
            parts.append(f"      <h1>{_escape(block.lines[0], entities)}</h1>")
        else:
            body = "<br>\n        ".join(_escape(line, entities) for line in block.lines)
            parts.append(f"      <p>\n        {body}\n      </p>")
    page = _PAGE_HEAD.format(charset=charset, title=html.escape(title)) + "\n".join(parts) + "\n" + _PAGE_FOOT
    return page.encode(charset)


def render_docx(text: str, path: Path) -> Path:
    """A Word document of ``text`` (python-docx): label/value pairs as a two-column table, other lines
    as paragraphs (the first, when alone in its block, a heading)."""
    import docx

    document = docx.Document()
    found = blocks(text)
    for index, block in enumerate(found):
        if block.pairs:
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            for label, value in block.pairs:
                cells = table.add_row().cells
                cells[0].text, cells[1].text = label, value
        elif block.inline:
            for label, value in block.inline:
                paragraph = document.add_paragraph()
                paragraph.add_run(label).bold = True
                paragraph.add_run(" " + value)
        elif index == 0 and len(block.lines) == 1:
            document.add_heading(block.lines[0], level=1)
        else:
            for line in block.lines:
                document.add_paragraph(line)
        if index < len(found) - 1:
            document.add_paragraph("")
    document.save(str(path))
    return path


def render_pdf(text: str, path: Path) -> Path:
    """A PDF of ``text`` (fpdf2, DejaVu Sans embedded: a real text layer): label/value pairs as a table,
    other lines as paragraphs wrapped at the page's width."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=10)
    for index, block in enumerate(blocks(text)):
        if block.pairs:
            with pdf.table(col_widths=(2, 3), first_row_as_headings=False) as table:
                for label, value in block.pairs:
                    row = table.row()
                    row.cell(label)
                    row.cell(value)
        elif block.inline:
            for label, value in block.inline:
                pdf.multi_cell(0, 5, f"{label} {value}", new_x="LMARGIN", new_y="NEXT")
        else:
            for number, line in enumerate(block.lines):
                if index == 0 and number == 0 and len(block.lines) == 1:
                    pdf.set_font("DejaVu", size=16)
                pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("DejaVu", size=10)
        pdf.ln(5)
    pdf.output(str(path))
    return path
