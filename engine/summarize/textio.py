"""Turning what a person hands the summarizer (a file, stdin, a paste) into plain text, or a clear error.

- Bytes are decoded by ``engine.text.decode.decode_bytes`` (re-exported here): binary files are
  refused; UTF-8, UTF-16 (with or without a BOM) and Windows-1252 are read.
- HTML is reduced to its text with the standard library's ``html.parser``: scripts, styles and the
  head are dropped, block elements become paragraph breaks, entities are decoded.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from engine.text.decode import decode_bytes

MAX_BYTES = 50 * 1024 * 1024  # refuse inputs larger than this (50 MB) rather than exhaust memory


def read_source(path: str) -> str:
    """The plain text of file ``path`` (``-`` reads stdin), HTML stripped; raises ValueError/OSError."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        name = "stdin"
    else:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if p.is_dir():
            raise ValueError(f"{path}: is a directory, not a text file")
        if p.stat().st_size > MAX_BYTES:
            raise ValueError(
                f"{path}: {p.stat().st_size / 2**20:.0f} MB is more than the {MAX_BYTES // 2**20} MB limit"
            )
        data = p.read_bytes()
        name = path
    if len(data) > MAX_BYTES:
        raise ValueError(f"{name}: more than the {MAX_BYTES // 2**20} MB limit")
    return prepare_text(decode_bytes(data, name))


_HTML_HINT = re.compile(
    r"<\s*/?\s*(?:!doctype|html|head|body|div|p|br|span|a|table|tr|td|script|style|article|section|"
    r"h[1-6]|li|ul|ol|b|i|em|strong|u|small|sup|sub|blockquote|img|hr)(?=[\s>/])",
    re.IGNORECASE,
)


def looks_like_html(text: str) -> bool:
    """True when the text has at least three HTML tags (opening or closing: a fragment such as
    ``<p>…</p><p>…</p>`` or ``<b>Breaking:</b> …<i>…</i>`` counts) among its first 20,000
    characters; prose naming one tag ("the <b> tag") does not."""
    return len(_HTML_HINT.findall(text[:20_000])) >= 3


def prepare_text(text: str) -> str:
    """Plain text for summarising: line endings normalised, HTML stripped when it looks like HTML,
    Markdown markup removed when it looks like Markdown."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_html(text):
        text = html_to_text(text)
    elif looks_like_markdown(text):
        text = markdown_to_text(text)
    return text


_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_MD_FENCE = re.compile(
    r"^[ \t]{0,3}(```|~~~)[^\n]*\n.*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL
)
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_MD_CODE = re.compile(r"`([^`\n]+)`")
_MD_RULE = re.compile(r"^[ \t]{0,3}(?:[-*_][ \t]*){3,}$", re.MULTILINE)
_MD_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.MULTILINE)


def looks_like_markdown(text: str) -> bool:
    """True when the start of the text has two or more kinds of Markdown markup (headings, code
    fences, links, bold)."""
    head = text[:20_000]
    kinds = [
        _MD_HEADING.search(head),
        "```" in head or "~~~" in head,
        _MD_LINK.search(head),
        re.search(r"\*\*\S.*?\S\*\*", head),
    ]
    return sum(bool(k) for k in kinds) >= 2


def markdown_to_text(text: str) -> str:
    """Markdown as prose: code blocks and rules dropped; the first heading kept as the title line
    and the others dropped (they are labels, not sentences); links, images, emphasis, inline code
    and quote marks reduced to their text; list bullets kept (the splitter reads them)."""
    text = _MD_FENCE.sub("", text)
    first = _MD_HEADING.search(text)
    lead = text[: first.start()] if first else ""
    if first and not lead.strip():  # a leading heading is the document's title
        text = first.group(1) + "\n\n" + _MD_HEADING.sub("", text[first.end() :])
    else:
        text = _MD_HEADING.sub("", text)
    text = _MD_RULE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_CODE.sub(r"\1", text)
    text = _MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", text)
    text = _MD_QUOTE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "head", "noscript", "template", "svg", "iframe", "nav", "footer"}
    BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
        "article", "header", "blockquote", "pre", "hr", "dd", "dt", "figcaption", "main", "aside",
    }  # fmt: skip
    CELL = {"td", "th"}  # table cells were glued together ("<td>c1</td><td>c2</td>" read "c1c2")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.skip_depth = 0  # an unclosed <head> ends where the body starts
        elif tag in self.SKIP:
            self.skip_depth += 1
        elif tag in self.BLOCK:
            self.parts.append("\n\n")
        elif tag in self.CELL:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n\n")
        elif tag in self.CELL:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML document or fragment, paragraphs separated by blank lines."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
