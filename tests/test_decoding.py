"""Decoding source bytes: every encoding real pages come in, and clear refusals."""

from __future__ import annotations

import codecs

import pytest

from kgbuild.decoding import decode_source
from kgbuild.errors import SourceError

TEXT = "Projektägare\r\nKlarälvdalens Samordningsförbund – 13\u00a0857 kr\r\n"
EXPECTED = "Projektägare\nKlarälvdalens Samordningsförbund – 13\u00a0857 kr\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"])
def test_decodes_each_encoding_exactly(encoding: str) -> None:
    decoded = decode_source(TEXT.encode(encoding), "x.txt")
    assert decoded.text == EXPECTED
    assert "\ufffd" not in decoded.text


def test_latin1_without_windows_characters() -> None:
    assert decode_source("Örebro län\n".encode("latin-1"), "x.txt").text == "Örebro län\n"


def test_mixed_line_endings() -> None:
    assert decode_source(b"a\r\nb\rc\nd", "x.txt").text == "a\nb\nc\nd"


def test_mojibake_is_repaired_and_reported() -> None:
    damaged = "Värmlands län".encode().decode("cp1252").encode("utf-8")
    decoded = decode_source(damaged, "x.txt")
    assert decoded.text == "Värmlands län"
    assert decoded.warnings


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    (codecs.BOM_UTF8 + b"\xff\xfe bad", "not valid UTF-8"),
    (codecs.BOM_UTF16_LE + b"a\x00b", "not valid UTF-16"),
    (b"abc\x81def", "not a text file"),
])
def test_rejects_clearly(data: bytes, problem: str) -> None:
    with pytest.raises(SourceError, match=problem) as caught:
        decode_source(data, "x.txt")
    assert str(caught.value).startswith("x.txt: ")
