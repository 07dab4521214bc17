"""Reading a PDF: its text layer → the text the engine reads, with the page of each character.

pypdf extracts each page's text in reading order, a line of the page a line of the text; pages are
apart by a blank line. Where the typesetter, not the author, shaped the text, it is undone: a vertical
gap wider than its column's line step is a blank line (a new paragraph), runs of spaces (justified
lines) are one space, and a line is joined with the next when the next one's first word would not have fit
on it (measured against the longest line of the column, the lines that start where it does, in
characters), there is no gap between them, and it does not end in a label's colon: the typesetter
wrapped it. A PDF without a text layer (a
scan) and an encrypted PDF that needs a password are refused: kgbuild reads text, it does not recognise
characters in images or guess passwords.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kgbuild.errors import SourceError
from kgbuild.inputs.positions import PositionMap, TextBuilder

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

__all__ = ["read_pdf"]


def read_pdf(data: bytes, source: str) -> tuple[str, PositionMap, tuple[str, ...]]:
    """Read a PDF's text layer.

    :param data: the file's bytes.
    :param source: the file's name, for messages.
    :return: the text (pages apart by a blank line), the map of its characters to their pages (1-based)
        and warnings.
    :raises SourceError: for a PDF that is damaged, encrypted with a password, or has no text layer.
    """
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    # pypdf logs what it repairs in a damaged file; kgbuild's messages are its own.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise SourceError(source, "an encrypted PDF (it needs a password): kgbuild reads only open files")
        pages = [_page_lines(page) for page in reader.pages]
    except SourceError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise SourceError(source, "an encrypted PDF (it needs a password): kgbuild reads only open files") from None
    except PdfReadError as exc:
        raise SourceError(source, f"a damaged PDF: {_one_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - pypdf raises what its parsing met in a damaged file (zlib, struct, KeyError...)
        raise SourceError(source, f"a damaged PDF ({type(exc).__name__}: {_one_line(exc)})") from None
    builder = TextBuilder()
    for number, lines in enumerate(pages, start=1):
        text = "\n".join(_unwrapped(lines))
        if not text.strip():
            continue
        if builder.length:
            builder.add("\n", number, number)
        builder.add(text + "\n", number, number)
    if not builder.length:
        raise SourceError(source, "a PDF without a text layer (scanned?): kgbuild reads only text")
    return builder.text(), builder.map, ()


@dataclass
class _Line:
    """A line of a page as pypdf extracts it, and where it starts on the page (``None``: no text)."""

    text: str = ""
    x: float | None = None
    y: float | None = None
    size: float = 0.0  # of its first text's font, on the page


def _page_lines(page: PageObject) -> list[_Line]:
    """The page's lines in reading order, each with the position of its first text."""
    lines = [_Line()]

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        for index, part in enumerate(text.split("\n")):
            if index:
                lines.append(_Line())
            line = lines[-1]
            if line.y is None and part.strip():
                line.x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                line.y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                line.size = abs(size * math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]))
            line.text += part

    page.extract_text(visitor_text=visit)
    return lines


_SPACES_RE = re.compile(r"[ \t\u00a0]{2,}")
# A wrapped line and the next line's first word fill this share of its column's longest line, in
# characters (a proportional font fits more narrow letters on a line than wide ones); at the page's
# margin, a column whose longest line is shorter than a line of prose has no line wrapped.
_FULL_LINE, _PROSE_WIDTH = 0.9, 60
# A step down the page this much wider than a line's is a gap between paragraphs; a line's step is its
# column's smallest, or this many times its font's size (in a column of one-line paragraphs every step
# is a gap; a table's rows may step wider than the prose beside them).
_PARAGRAPH_GAP, _LINE_STEP = 1.4, 1.5


def _unwrapped(page: list[_Line]) -> list[str]:
    """A page's lines: a blank line where a gap was, each wrapped line joined with the next.

    >>> prose = "Description:  The municipality  is looking for partner towns to organise a youth"
    >>> lines = [_Line(prose, 30, 700), _Line("meeting.", 30, 688), _Line("Short.", 30, 676), _Line("Next", 30, 640)]
    >>> _unwrapped(lines)
    ['Description: The municipality is looking for partner towns to organise a youth meeting.', 'Short.', '', 'Next']
    """
    # A column's line step: the smallest step down between two of its lines that follow each other.
    steps: dict[int, float] = {}
    for above, below in zip(page, page[1:], strict=False):
        if above.y is not None and below.y is not None and above.x is not None and below.x is not None \
                and round(above.x) == round(below.x) and above.y > below.y:
            steps[round(above.x)] = min(steps.get(round(above.x), math.inf), above.y - below.y)
    # A column's width: its longest line, in characters; a column is the lines that start at one place.
    widths: dict[int, int] = {}
    for line in page:
        if line.x is not None:
            column = round(line.x)
            widths[column] = max(widths.get(column, 0), len(_SPACES_RE.sub(" ", line.text).strip()))
    margin = min(widths, default=0)
    out: list[str] = []
    previous: _Line | None = None
    previous_length = 0  # of the previous line as printed (``out[-1]`` may be lines joined)
    for line in page:
        text = _SPACES_RE.sub(" ", line.text).strip()
        if not text:
            continue
        line_step = min(steps.get(round(line.x), math.inf) if line.x is not None else math.inf,
                        _LINE_STEP * line.size or math.inf)
        gap = (previous is not None and previous.y is not None and line.y is not None and line_step < math.inf
               and previous.y - line.y > _PARAGRAPH_GAP * line_step)
        wrapped = False
        if previous is not None and out and not gap and out[-1][-1] != ":" and previous.x is not None \
                and line.x is not None and round(previous.x) == round(line.x):
            column = round(line.x)
            fills = previous_length + 1 + len(text.split(" ", 1)[0]) > _FULL_LINE * widths[column]
            # A table's cell (a column right of the margin) is as narrow as its content.
            wrapped = fills and (widths[column] >= _PROSE_WIDTH or column > margin)
        if wrapped:
            out[-1] += " " + text
        else:
            if gap:
                out.append("")
            out.append(text)
        previous, previous_length = line, len(text)
    return out


def _opens_without_password(reader: PdfReader) -> bool:
    """Whether an encrypted PDF opens with the empty password (one that only restricts printing or
    copying does: anyone can read it)."""
    from pypdf.errors import DependencyError

    try:
        return bool(reader.decrypt(""))
    except (DependencyError, NotImplementedError):
        return False


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (a refusal is one line)."""
    return " ".join(str(exc).split())
