"""Decoding: the bytes of a source file → text with ``\\n`` line endings, or a clear refusal.

Scraped pages arrive as UTF-8 (with or without a BOM), UTF-16, Latin-1 or Windows-1252, with any
line endings. We decode strictly and never insert replacement characters: a file we cannot decode
with confidence is rejected with the reason.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from kgbuild.errors import SourceError

__all__ = ["DecodedText", "decode_source"]

# C0 controls other than tab, line feed, form feed and carriage return never occur in real text;
# C1 controls (U+0080–U+009F) appear when Windows-1252 bytes were read as Latin-1.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_CONTROL_BYTES_RE = re.compile(b"[\x00-\x08\x0b\x0e-\x1f\x7f\xc2]")
# UTF-8 read as Windows-1252 before it reached us ("Ã¤" for "ä"): a damage we can undo exactly.
_MOJIBAKE_RE = re.compile(
    "[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_source(data: bytes, source: str, *, encoding: str | None = None, newlines: bool = True) -> DecodedText:
    """Decode a source file's bytes.

    :param data: the file's content.
    :param source: the file's name, for messages.
    :param encoding: the encoding the file declares (an HTML page's charset); detected when ``None``.
    :param newlines: normalise line endings to ``\\n``; an HTML page keeps its own, so that offsets into
        the text are offsets into the page as saved.
    :return: the text with line endings normalised to ``\\n`` (unless ``newlines`` is false) and any BOM
        removed.
    :raises SourceError: when the bytes are empty, binary, or not text in a supported encoding.

    >>> decode_source("Region\\r\\nV\\u00e4rmland".encode("utf-8-sig"), "x.txt").text
    'Region\\nVärmland'
    >>> decode_source("Ort\\nK\\u00f6ping".encode("latin-1"), "x.txt").encoding
    'windows-1252'
    """
    if encoding is None:
        text, encoding = _decode(data, source)
    elif not data.strip():
        raise SourceError(source, "the file is empty")
    else:
        text = _strict(data, encoding, source)
    warnings: list[str] = []
    if ("Ã" in text or "Â" in text) and _MOJIBAKE_RE.search(text):  # the pattern's first letters: found faster
        repaired = _undo_mojibake(text)
        if repaired is not None:
            text = repaired
            warnings.append("text was UTF-8 decoded as Windows-1252 before it was saved; repaired")
    # In UTF-8 a C0 control is its own byte and a C1 control follows a \xc2 byte: bytes without any of
    # them decode to a text without controls, and their search is 3x faster than the text's.
    clean_bytes = encoding == "utf-8" and not warnings and _CONTROL_BYTES_RE.search(data) is None
    bad = None if clean_bytes else _CONTROL_RE.search(text)
    if bad:
        raise SourceError(source, f"not a text file: control character U+{ord(bad.group()):04X} "
                                  f"at offset {bad.start()}")
    if "\ufffd" in text:
        warnings.append("text already contains U+FFFD replacement characters (damaged before it reached us)")
    if newlines and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SourceError(source, "the file is empty")
    return DecodedText(text, encoding, tuple(warnings))


def _decode(data: bytes, source: str) -> tuple[str, str]:
    if not data.strip():
        raise SourceError(source, "the file is empty")
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _strict(data[len(bom):], encoding, source), encoding
    utf16 = _guess_utf16_without_bom(data)
    if utf16:
        return _strict(data, utf16, source), utf16
    if b"\x00" in data:
        raise SourceError(source, "not a text file: it contains NUL bytes")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("windows-1252"), "windows-1252"
    except UnicodeDecodeError:
        # The five bytes Windows-1252 leaves undefined: what remains is Latin-1 with C1 controls,
        # which real text does not contain; the control check rejects it.
        return data.decode("latin-1"), "latin-1"


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(source, f"not valid {encoding.upper()}: {exc.reason} at byte {exc.start}") from None


def _guess_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text of a Latin-script language has a NUL in every other byte."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    if odd_nuls > 0.4 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.4 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _undo_mojibake(text: str) -> str | None:
    try:
        repaired = text.encode("windows-1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return repaired
