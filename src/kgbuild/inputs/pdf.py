"""Reading a PDF: its text layer → the text the engine reads, with the page of each character.

pypdf extracts each page's text in reading order, a line of the page a line of the text; pages are
apart by a blank line. Two undoings of typesetting: runs of spaces (justified lines) are one space, and
a line that fills the page's width and does not end a sentence or a label is joined with the next (the
typesetter wrapped it, the author did not break it). A PDF without a text layer (a scan) and an
encrypted PDF that needs a password are refused: kgbuild reads text, it does not recognise characters
in images or guess passwords.
"""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

from kgbuild.errors import SourceError
from kgbuild.inputs.positions import PositionMap, TextBuilder

if TYPE_CHECKING:
    from pypdf import PdfReader

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
        pages = [page.extract_text() or "" for page in reader.pages]
    except SourceError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise SourceError(source, "an encrypted PDF (it needs a password): kgbuild reads only open files") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise SourceError(source, f"a damaged PDF: {exc}") from None
    builder = TextBuilder()
    for number, page in enumerate(pages, start=1):
        text = "\n".join(_unwrapped(page))
        if not text.strip():
            continue
        if builder.length:
            builder.add("\n\n", number, number)
        builder.add(text + "\n", number, number)
    if not builder.length:
        raise SourceError(source, "a PDF without a text layer (scanned?): kgbuild reads only text")
    return builder.text(), builder.map, ()


_SPACES_RE = re.compile(r"[ \t\u00a0]{2,}")
# A wrapped line is at least this share of the page's longest line, in characters.
_FULL_LINE = 0.75


def _unwrapped(page: str) -> list[str]:
    """A page's lines, each wrapped line joined with the one it was wrapped onto.

    >>> _unwrapped("Description:  The municipality  is looking for partner towns to\\norganise a meeting.\\nShort.")
    ['Description: The municipality is looking for partner towns to organise a meeting.', 'Short.']
    """
    lines = [_SPACES_RE.sub(" ", line).strip() for line in page.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    for line in lines:
        previous = out[-1] if out else ""
        if previous and line and len(previous) >= _FULL_LINE * width and previous[-1] not in ".!?:;":
            out[-1] = previous + " " + line
        else:
            out.append(line)
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return out


def _opens_without_password(reader: PdfReader) -> bool:
    """Whether an encrypted PDF opens with the empty password (one that only restricts printing or
    copying does: anyone can read it)."""
    from pypdf.errors import DependencyError

    try:
        return bool(reader.decrypt(""))
    except (DependencyError, NotImplementedError):
        return False
