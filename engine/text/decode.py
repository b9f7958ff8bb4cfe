"""Bytes a person hands over (a text file, a CSV) as text, or a clear error.

- Binary data (a known signature such as PDF, PNG, ZIP, or NUL bytes that are not UTF-16) is
  refused with a message.
- Text is UTF-8 (with or without BOM), UTF-16 with a BOM, UTF-16 without one when its NULs sit in
  every other byte and it decodes to readable text, and otherwise Windows-1252 (which reads
  Latin-1 too).

``decode_bytes`` decodes a whole file; ``sniff_encoding`` names the codec from the start of a
file, for readers that stream the rest (engine.forecast.io hands it to pandas).
"""

from __future__ import annotations

import codecs
import unicodedata

SNIFF_BYTES = 65536  # how much of the start decides the encoding and whether data are binary

_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "a program (ELF binary)",
    b"MZ": "a Windows program",
    b"SQLite format 3": "an SQLite database",
}


def sniff_encoding(data: bytes, complete: bool = True, name: str = "input") -> str:
    """The codec of ``data`` (the whole file when ``complete``, else its start): "utf-8-sig" (BOM),
    "utf-16" (BOM), "utf-16-le"/"utf-16-be" (no BOM), "utf-8" or "cp1252". Raises ValueError naming
    ``name`` for binary data: a known signature, or NUL bytes that do not read as UTF-16."""
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            raise ValueError(f"{name}: looks like {kind}, not text")
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:SNIFF_BYTES]
    if b"\x00" in head:
        # UTF-16 without a BOM was refused as binary: its NULs are the high (LE) or low (BE) byte
        # of every ASCII character
        codec = _bomless_utf16(head, final=complete and len(data) <= len(head))
        if codec is None:
            raise ValueError(f"{name}: looks like a binary file (it contains NUL bytes), not text")
        return codec
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete and len(data) <= len(head))
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _bomless_utf16(head: bytes, final: bool) -> str | None:
    """The UTF-16 codec ("utf-16-le" or "utf-16-be") when ``head`` has its NULs in every other byte
    (the odd bytes for little-endian) and decodes to text with spaces or line breaks and few control
    characters, else None."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even, odd = head[0 : pairs * 2 : 2].count(0), head[1 : pairs * 2 : 2].count(0)
    # mostly Latin-1 characters (a NUL in half the pairs or more) and hardly any U+xx00
    if even <= pairs * 0.02 and odd >= pairs * 0.5:
        codec = "utf-16-le"
    elif odd <= pairs * 0.02 and even >= pairs * 0.5:
        codec = "utf-16-be"
    else:
        return None
    try:
        text = codecs.getincrementaldecoder(codec)().decode(head, final=final)
    except UnicodeDecodeError:
        return None
    spaces = sum(c.isspace() for c in text)  # text has words or lines; binary records seldom do
    return codec if "\x00" not in text and control_share(text) <= 0.01 and spaces * 100 >= len(text) else None


def decode_bytes(data: bytes, name: str = "input") -> str:
    """Decode file contents to text, refusing binary data with a message that names ``name``."""
    codec = sniff_encoding(data, True, name)
    if codec.startswith("utf-16"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: damaged UTF-16 text ({exc.reason})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    else:
        return _checked(text, name)
    if accented_share(text) > 0.3:  # Russian in Windows-1251, Chinese in GBK…: mojibake
        raise ValueError(
            f"{name}: is not UTF-8 and does not read as Western European text either (another "
            "encoding?); save it as UTF-8 and try again"
        )
    return _checked(text, name)


def _checked(text: str, name: str) -> str:
    if control_share(text) > 0.01:
        raise ValueError(f"{name}: cannot be read as text (too many control or undecodable bytes)")
    return text


def accented_share(text: str) -> float:
    """Share of the letters that are not ASCII: a few percent in French or German, most of them when
    another encoding's bytes are read as Windows-1252."""
    letters = [c for c in text[:200_000] if c.isalpha()]
    return sum(not c.isascii() for c in letters) / len(letters) if letters else 0.0


def control_share(text: str) -> float:
    """Share of characters that are control codes (other than tab and line breaks) or undecodable."""
    sample = text[:200_000]
    if not sample:
        return 0.0
    bad = sum(
        1 for c in sample if c == "\ufffd" or (unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v")
    )
    return bad / len(sample)
