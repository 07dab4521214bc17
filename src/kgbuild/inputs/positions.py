"""A map from each character of the text the engine reads back to where it is in the file as published.

An input reader writes the engine's text piece by piece, each piece with its place in the original: for
HTML the character span of the source it came from, for a PDF its page, for a DOCX its paragraph. A
piece is *verbatim* when its characters are the source's, one for one (a text node without entities or
runs of white space), so that a span inside it maps to the exact source characters; any other piece (an
entity, a collapsed run of white space, a line break the reader wrote) maps as a whole to its span.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

__all__ = ["PositionMap", "TextBuilder"]


@dataclass(frozen=True, slots=True)
class PositionMap:
    """Pieces of the engine's text, sorted by where they start in it.

    ``starts[i]`` is where piece ``i`` starts in the engine's text; ``origins[i]`` and ``ends[i]`` are
    the span of the original it stands for (for a PDF or a DOCX both are its page or paragraph);
    ``verbatim[i]`` says whether the piece is the original's characters one for one.

    >>> b = TextBuilder()
    >>> b.add("Budget", 10, verbatim=True); b.add(" ", 16, 20); b.add("&", 20, 25)
    >>> b.map.span(0, 3), b.map.span(7, 8), b.map.span(0, 8)
    ((10, 13), (20, 25), (10, 25))
    """

    starts: tuple[int, ...]
    origins: tuple[int, ...]
    ends: tuple[int, ...]
    verbatim: tuple[bool, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original that the engine's text from ``start`` to ``end`` stands for.

        :param start: where the span starts in the engine's text.
        :param end: where it ends (exclusive); an empty span stands for where it starts.
        :return: the original's start and end (for pages and paragraphs: the first and the last).
        """
        if not self.starts:
            return 0, 0
        first = self._at(start)
        last = self._at(max(start, end - 1))
        begin = self.origins[first] + (start - self.starts[first] if self.verbatim[first] else 0)
        finish = (self.origins[last] + (max(start, end - 1) - self.starts[last]) + 1 if self.verbatim[last]
                  else self.ends[last])
        return begin, max(begin, finish)

    def _at(self, position: int) -> int:
        return max(0, bisect.bisect_right(self.starts, position) - 1)


class TextBuilder:
    """Writes the engine's text and its :class:`PositionMap` together."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._starts: list[int] = []
        self._origins: list[int] = []
        self._ends: list[int] = []
        self._verbatim: list[bool] = []

    def add(self, text: str, origin: int, end: int | None = None, *, verbatim: bool = False) -> None:
        """Write ``text``, which stands for the original from ``origin`` to ``end`` (``origin`` to
        ``origin + len(text)`` when ``verbatim``)."""
        if not text:
            return
        self._parts.append(text)
        self._starts.append(self._length)
        self._origins.append(origin)
        self._ends.append(origin + len(text) if verbatim else (origin if end is None else end))
        self._verbatim.append(verbatim)
        self._length += len(text)

    @property
    def length(self) -> int:
        return self._length

    def last_char(self) -> str:
        return self._parts[-1][-1] if self._parts else "\n"

    def ends_blank(self) -> bool:
        """Whether the text so far ends in a blank line (or is empty)."""
        return len(self._parts) < 2 or (self._parts[-1] == "\n" and self._parts[-2].endswith("\n"))

    def mark(self) -> int:
        """A mark of where the text is now, for :meth:`since`."""
        return len(self._parts)

    def since(self, mark: int, until: int | None = None) -> str:
        """The text written since ``mark`` (up to the mark ``until``)."""
        return "".join(self._parts[mark:until])

    def origin_between(self, mark: int, until: int) -> tuple[int, int] | None:
        """The span of the original that the text written between two marks stands for."""
        if mark >= until:
            return None
        return self._origins[mark], max(self._ends[mark:until])

    def rewind(self, mark: int) -> None:
        """Forget the text written since ``mark``.

        >>> b = TextBuilder(); b.add("a", 0, verbatim=True); m = b.mark(); b.add("bc", 1, verbatim=True)
        >>> b.rewind(m); b.text(), b.length
        ('a', 1)
        """
        if mark < len(self._parts):
            self._length = self._starts[mark]
            for held in (self._parts, self._starts, self._origins, self._ends, self._verbatim):
                del held[mark:]

    def text(self) -> str:
        return "".join(self._parts)

    @property
    def map(self) -> PositionMap:
        return PositionMap(tuple(self._starts), tuple(self._origins), tuple(self._ends), tuple(self._verbatim))
