"""Reading speed against an earlier revision of kgbuild, measured in the same run.

The machine is shared: the CPU time of one document changes by up to 1.7x with what other machines on
the host do. Two processes, one with this checkout's code and one with ``--against``'s, read the same
generated documents in turns, round after round; each round gives both medians and their ratio, taken
within seconds of each other. The lowest median over the rounds is the figure least changed by the
neighbours (they only ever add time).

Usage::

    python -m benchmarks.reading --against df01dde            # 2,000 documents, 6 rounds
    python -m benchmarks.reading --against HEAD~3 --documents 10000 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import generate
from benchmarks.harness import median

__all__ = ["ReadingRound", "compare_reading"]

HERE = Path(__file__).parent
ROOT = HERE.parent

# Run in each process, with that revision's kgbuild first on the path: each round is benchmark_parse, the
# reading benchmark of `python -m benchmarks`, and prints its median and total CPU time.
_WORKER = r"""
import json, sys
from pathlib import Path
from benchmarks.build import benchmark_parse
sources = sorted(Path(sys.argv[1]).glob("*.txt"))
for _ in sys.stdin:
    timing = benchmark_parse(sources)
    print(json.dumps([timing.median_ms, timing.mean_ms * timing.documents / 1000]), flush=True)
"""


@dataclass(frozen=True)
class ReadingRound:
    """One round: the median CPU milliseconds a document and the total seconds, for each revision."""

    ours_median_ms: float
    theirs_median_ms: float
    ours_total_s: float
    theirs_total_s: float

    @property
    def ratio(self) -> float:
        return self.ours_median_ms / self.theirs_median_ms


def _export(revision: str, into: Path) -> Path:
    """The revision's ``src`` and ``data`` (what reading needs), written under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src", "data"], capture_output=True,
                             check=False)
    if archive.returncode != 0:
        raise SystemExit(f"cannot export {revision!r}: {archive.stderr.decode(errors='replace').strip()}")
    into.mkdir(parents=True, exist_ok=True)
    tar = into / "tree.tar"
    tar.write_bytes(archive.stdout)
    with tarfile.open(tar) as handle:
        handle.extractall(into, filter="data")
    return into / "src"


def compare_reading(corpus: Path, theirs_src: Path, rounds: int) -> list[ReadingRound]:
    """Read ``corpus`` with this checkout's code and with the code at ``theirs_src``, in turns."""
    def start(src: Path) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", _WORKER, str(corpus)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": f"{src}:{ROOT}", "PATH": ""})

    ours, theirs = start(ROOT / "src"), start(theirs_src)
    results: list[ReadingRound] = []
    try:
        for number in range(rounds):
            measured = {}
            # Who goes first alternates: a neighbour's burst falls on each side alike.
            for name, process in ((("ours", ours), ("theirs", theirs)) if number % 2 == 0 else
                                  (("theirs", theirs), ("ours", ours))):
                assert process.stdin is not None and process.stdout is not None
                process.stdin.write("go\n")
                process.stdin.flush()
                line = process.stdout.readline()
                if not line:
                    raise SystemExit(f"the {name} process stopped (see its error above)")
                measured[name] = json.loads(line)
            results.append(ReadingRound(measured["ours"][0], measured["theirs"][0], measured["ours"][1],
                                        measured["theirs"][1]))
    finally:
        for process in (ours, theirs):
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()
            process.wait(timeout=60)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reading", description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the git revision to compare with (e.g. df01dde)")
    parser.add_argument("--documents", type=int, default=2000, help="generated documents read each round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, each reading every document once")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="scratch directory (git-ignored)")
    args = parser.parse_args(argv)
    corpus = args.work / f"reading-{args.documents}"
    if len(list(corpus.glob("*.txt"))) != args.documents:
        generate(args.documents, corpus, seed=1)
    with tempfile.TemporaryDirectory(prefix="kgbuild-reading-") as scratch:
        rounds = compare_reading(corpus, _export(args.against, Path(scratch)), args.rounds)
    for number, result in enumerate(rounds, 1):
        print(f"round {number}: {result.ours_median_ms:.3f} ms against {result.theirs_median_ms:.3f} ms "
              f"({result.ratio:.2f}x); total {result.ours_total_s:.2f} s against {result.theirs_total_s:.2f} s")
    print(f"reading, median CPU a document over {args.documents:,} documents: "
          f"{min(r.ours_median_ms for r in rounds):.3f} ms at best "
          f"({median([r.ours_median_ms for r in rounds]):.3f} ms median of the rounds); "
          f"{args.against}: {min(r.theirs_median_ms for r in rounds):.3f} ms "
          f"({median([r.theirs_median_ms for r in rounds]):.3f} ms); "
          f"ratio {median([r.ratio for r in rounds]):.2f}x (median of the rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
