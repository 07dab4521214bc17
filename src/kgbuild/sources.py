"""The read stage: source files found (as given, or the files of a directory), read and parsed.

Input: paths; output: each source's :class:`~kgbuild.iris.SourceInfo` and
:class:`~kgbuild.records.ParseResult`, or a :class:`~kgbuild.handoffs.SourceFailure` naming why it
failed. :func:`parse_sources` parses where an executor runs (a local pool, a Dask cluster).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import NamedNode

from kgbuild.errors import KgbuildError, SourceError
from kgbuild.executors import Executor
from kgbuild.handoffs import SourceFailure
from kgbuild.inputs import SOURCE_SUFFIXES
from kgbuild.iris import SourceInfo, source_key
from kgbuild.parsers import PARSER_VERSION, parse_bytes
from kgbuild.records import ParseResult, pickled_by_fields
from kgbuild.resources import data_path
from kgbuild.sidecar import fetched_url

__all__ = ["PARSE_BATCH", "default_sources", "source_files", "read_sources", "parse_sources"]


# Sources parsed by one task at most. A pool's last tasks keep one core busy while the other waits:
# at 100,000 sources the pool's own split (6,250 a task) took 44 s to parse, tasks of 1,000 took 37 s.
PARSE_BATCH = 1_000


def default_sources() -> list[Path]:
    """The bundled sample corpus, ``data/sources/*.txt``."""
    return sorted(data_path("sources").glob("*.txt"))


def source_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the sources in it: its ``*.txt``, ``*.html``, ``*.htm``,
    ``*.pdf`` and ``*.docx`` files.

    A path that is not there, or a directory without texts, is most likely a typo: building from what
    is left (or syncing the store to it) would not be what was meant.

    :raises KgbuildError: naming the first such path.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            texts = sorted(p for p in path.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES and p.is_file())
            if not texts:
                raise KgbuildError(f"{path}: no source files in this directory (*.txt, *.html, *.htm, *.pdf, "
                                   "*.docx)")
            out.extend(texts)
        elif path.exists():
            out.append(path)
        else:
            raise KgbuildError(f"{path}: no such file or directory")
    return out


def _unique_sources(paths: Sequence[Path]) -> tuple[list[Path], list[SourceFailure]]:
    """The paths whose graph names are unique; a later path with a taken name is a failure.

    Keyed by the graph name a file gets, not the file name: "a-b.txt" and "a_b.txt" would share a graph.
    """
    unique: list[Path] = []
    failures: list[SourceFailure] = []
    names: dict[str, Path] = {}
    for path in paths:
        key = source_key(path.name)
        if key in names:
            same = "same file name" if names[key].name == path.name else f"same graph name ({key})"
            failures.append(SourceFailure(str(path), f"{same} as {names[key]}: "
                                                     "source names must be unique (they name the graphs)"))
            continue
        names[key] = path
        unique.append(path)
    return unique, failures


def read_sources(paths: Sequence[Path]) -> tuple[list[tuple[SourceInfo, ParseResult]], list[SourceFailure]]:
    """Read and parse each file; a file that fails is a :class:`SourceFailure`, the others go on."""
    parsed: list[tuple[SourceInfo, ParseResult]] = []
    unique, failures = _unique_sources(paths)
    for path in unique:
        try:
            data = path.read_bytes()
            parsed.append(_source_info(path.name, data, parse_bytes(data, str(path)), fetched_url(path)))
        except OSError as exc:
            failures.append(SourceFailure(str(path), exc.strerror or str(exc)))
        except SourceError as exc:
            failures.append(SourceFailure(str(path), exc.problem))
    return parsed, failures


def _source_info(name: str, data: bytes, result: ParseResult, url: str | None
                 ) -> tuple[SourceInfo, ParseResult]:
    """A parsed source's provenance; for a fetched page, with the URL its record names (:mod:`kgbuild.sidecar`).

    That URL becomes the source document's ``prov:wasDerivedFrom`` and every record's ``source_url``,
    in place of any the text states: the record says where these bytes were actually fetched from.
    """
    if url is None:
        return SourceInfo(name, hashlib.sha256(data).hexdigest(), PARSER_VERSION), result
    try:
        NamedNode(url)
    except ValueError as exc:
        raise SourceError(name, f"its fetch record's URL is not an IRI: {exc}") from None
    records = tuple(dataclasses.replace(record, source_url=url) for record in result.records)
    return (SourceInfo(name, hashlib.sha256(data).hexdigest(), PARSER_VERSION, url),
            dataclasses.replace(result, records=records))


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class _SourceText:
    """One source on its way to a parser: the path as given, its file name, and its bytes if read here.

    A local worker reads the file itself (``data`` is None); a cluster's workers may not see this
    machine's files, so for them it is read here and the bytes travel. Either way the parser gets the
    same bytes and the same names, so the result is the same.
    """

    source: str  # str(path): how a failure names the source
    name: str  # path.name: what names its graphs and its provenance
    location: str  # the absolute path: a pool's processes need not share this process's working directory
    data: bytes | None = None
    problem: str | None = None  # reading it here failed
    url: str | None = None  # read here with ``data``: the URL a fetched page's record names


def _source_text(path: Path, read: bool) -> _SourceText:
    text = _SourceText(str(path), path.name, os.path.abspath(path))
    if not read:
        return text
    try:
        return dataclasses.replace(text, data=path.read_bytes(), url=fetched_url(path))
    except OSError as exc:
        return dataclasses.replace(text, problem=exc.strerror or str(exc))
    except SourceError as exc:
        return dataclasses.replace(text, problem=exc.problem)


def _parse_source(job: _SourceText, _: None) -> tuple[SourceInfo, ParseResult] | SourceFailure:
    if job.problem is not None:
        return SourceFailure(job.source, job.problem)
    try:
        if job.data is not None:
            data, url = job.data, job.url
        else:
            data, url = Path(job.location).read_bytes(), fetched_url(Path(job.location))
        return _source_info(job.name, data, parse_bytes(data, job.source), url)
    except OSError as exc:
        return SourceFailure(job.source, exc.strerror or str(exc))
    except SourceError as exc:
        return SourceFailure(job.source, exc.problem)


def parse_sources(paths: Sequence[Path], runner: Executor
                  ) -> tuple[list[tuple[SourceInfo, ParseResult]], list[SourceFailure]]:
    """Parse every source where ``runner`` runs."""
    unique, failures = _unique_sources(paths)
    texts = (_source_text(p, read=runner.remote) for p in unique)
    outcomes = runner.map(_parse_source, texts, None, count=len(unique), limit=PARSE_BATCH)
    parsed = [o for o in outcomes if not isinstance(o, SourceFailure)]
    failures += [o for o in outcomes if isinstance(o, SourceFailure)]
    return parsed, failures
