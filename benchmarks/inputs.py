"""Reading inputs as published: an HTML page's, a DOCX's and a PDF's parse time against its text's.

The generated corpus's texts (``benchmarks.corpus``), each rendered as a realistic HTML page, a Word
document and a PDF by the functions the tests use (``tests/renderings.py``); every document is parsed
as ``kgbuild parse`` does (``parse_bytes``), its CPU time taken. The figure is the ratio of the median
time of a kind to the median time of the same texts as ``.txt`` (target: HTML and DOCX within 3x).

Usage::

    python -m benchmarks.inputs --size 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import generate_texts

__all__ = ["InputTiming", "benchmark_inputs"]

KINDS = ("txt", "html", "docx", "pdf")


@dataclass
class InputTiming:
    """Median and 90th-percentile CPU milliseconds per document of each kind, over the same texts."""

    documents: int
    median_ms: dict[str, float]
    p90_ms: dict[str, float]
    same_records: dict[str, int]  # documents whose records equal the text's, per kind
    same_facts: dict[str, int]  # documents whose records equal the text's but for the raw fields (prose)

    def ratio(self, kind: str) -> float:
        return self.median_ms[kind] / self.median_ms["txt"]


def _cpu_ms(parse: Callable[[], object]) -> float:
    started = time.process_time()
    parse()
    return (time.process_time() - started) * 1000


def benchmark_inputs(size: int, kinds: tuple[str, ...] = KINDS) -> InputTiming:
    """Render ``size`` generated texts as each kind and time parsing each document."""
    from kgbuild.parsers import parse_bytes
    from tests.renderings import render_docx, render_html, render_pdf

    documents: list[dict[str, bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for _, text in generate_texts(size):
            rendered = {"txt": text.encode("utf-8"), "html": render_html(text)}
            if "docx" in kinds:
                rendered["docx"] = render_docx(text, Path(scratch) / "d.docx").read_bytes()
            if "pdf" in kinds:
                rendered["pdf"] = render_pdf(text, Path(scratch) / "d.pdf").read_bytes()
            documents.append(rendered)
    parse_bytes(documents[0]["txt"], "warm.txt")  # the lexicon is compiled once per process
    for kind in kinds:  # and each reader's imports (pypdf) once
        parse_bytes(documents[0][kind], f"warm.{kind}")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    same, facts = dict.fromkeys(kinds, 0), dict.fromkeys(kinds, 0)
    for rendered in documents:
        expected = [r.to_json() for r in parse_bytes(rendered["txt"], "d.txt").records]
        for kind in kinds:
            data = rendered[kind]
            times[kind].append(_cpu_ms(lambda data=data, kind=kind: parse_bytes(data, f"d.{kind}")))
            got = [r.to_json() for r in parse_bytes(data, f"d.{kind}").records]
            same[kind] += got == expected
            facts[kind] += [_facts(r) for r in got] == [_facts(r) for r in expected]
    return InputTiming(len(documents), {k: statistics.median(v) for k, v in times.items()},
                       {k: sorted(v)[int(len(v) * 0.9)] for k, v in times.items()}, same, facts)


def _facts(record: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in record.items() if key != "extra"}


def render(result: InputTiming) -> str:
    lines = [f"Reading inputs as published: {result.documents} generated texts, CPU ms per document",
             "| kind | median | p90 | ratio to .txt (median) | records equal to the .txt's | facts equal |",
             "|---|---:|---:|---:|---:|---:|"]
    for kind, median in result.median_ms.items():
        lines.append(f"| {kind} | {median:.2f} | {result.p90_ms[kind]:.2f} | {result.ratio(kind):.2f}x | "
                     f"{result.same_records[kind]}/{result.documents} | {result.same_facts[kind]}/{result.documents} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inputs", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200, help="generated texts (each rendered as every kind)")
    args = parser.parse_args(argv)
    print(render(benchmark_inputs(args.size)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
