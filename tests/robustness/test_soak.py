"""The soak (``benchmarks/soak.py``) as a smoke test: six seconds of the real thing.

The full run (five minutes, ``python -m benchmarks.soak``) writes ``benchmarks/results/soak.md``; here
the same code runs briefly against a copy of the generated store, with a 2 s deadline so that the
runaway client meets it, and must pass: no 5xx but the deadline's 503, every request answered, memory
flat, and the deadline's kills counted by ``/healthz``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.robustness.conftest import Generated


def test_a_short_soak_passes(generated: Generated, tmp_path: Path) -> None:
    store = shutil.copytree(generated.store, tmp_path / "kgstore")
    out = tmp_path / "soak.md"
    run = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--seconds", "6", "--query-timeout", "2",
                          "--store", str(store), "--work", str(tmp_path), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    assert "**PASS**" in report
    answered = int(_figure(r"\| requests answered \| ([0-9,]+)", report))
    killed = int(_figure(r"stopped at the deadline \(`/healthz`\) \| ([0-9,]+)", report))
    stopped = int(_figure(r"while waiting for a worker \| ([0-9,]+) /", report))
    assert answered > 100, report
    # Every query the server stopped was answered with its 503, and only those (a runaway that waited
    # past the deadline for a worker on a busy machine gets its 503 without a kill).
    assert killed == stopped, report
    for kind in ("lookup", "aggregate", "join", "page", "dumps-index", "runaway"):
        assert f"| {kind} |" in report, kind
    assert re.search(r"\| runaway \| [0-9]+ \| 503: [0-9]+ \|", report), report  # every runaway met the deadline


def _figure(pattern: str, report: str) -> str:
    found = re.search(pattern, report)
    assert found is not None, (pattern, report)
    return found.group(1).replace(",", "")
