"""The errors kgbuild raises for a user's mistake.

Anything derived from :class:`KgbuildError` is shown to the user as a one-line message (no traceback)
by the CLI and as a 4xx answer by the server. Any other exception is a bug in kgbuild.
"""

from __future__ import annotations

__all__ = ["KgbuildError", "SourceError", "NormaliseError", "ShapesError"]


class KgbuildError(Exception):
    """A problem the user can fix: bad input, a bad setting, a missing file."""


class NormaliseError(KgbuildError, ValueError):
    """A value in a source text cannot be read as what its field says it is.

    >>> str(NormaliseError("amount", "12,3,4"))
    "not a valid amount: '12,3,4'"
    """

    def __init__(self, kind: str, value: str, why: str = "") -> None:
        self.kind = kind
        self.value = value
        self.why = why
        message = f"not a valid {kind}: {value!r}"
        super().__init__(f"{message} ({why})" if why else message)


class SourceError(KgbuildError):
    """A source file that cannot be read or parsed; names the file and the problem.

    >>> str(SourceError("data/x.txt", "not a recognised format"))
    'data/x.txt: not a recognised format'
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class ShapesError(KgbuildError):
    """The shapes use SHACL the compiler to SPARQL does not support; the message lists every such use."""
