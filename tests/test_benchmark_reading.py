"""The paired reading benchmark (benchmarks/reading.py): two revisions read one corpus in turns."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.corpus import generate
from benchmarks.reading import _export, compare_reading

ROOT = Path(__file__).resolve().parents[1]


def test_two_revisions_read_the_same_documents_in_turns(tmp_path: Path) -> None:
    generate(4, tmp_path / "corpus", seed=1)
    theirs = _export("HEAD", tmp_path / "theirs")
    assert (theirs / "kgbuild" / "extract" / "engine.py").is_file()
    rounds = compare_reading(tmp_path / "corpus", theirs, rounds=2)
    assert len(rounds) == 2
    assert all(r.ours_median_ms > 0 and r.theirs_median_ms > 0 and r.ours_total_s > 0 for r in rounds)


def test_a_revision_that_does_not_exist_is_named_in_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot export 'no-such-revision'"):
        _export("no-such-revision", tmp_path)
