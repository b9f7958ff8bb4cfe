"""Turning what a person hands the summarizer (a file, stdin, a paste) into plain text, or a clear error.

- Bytes are decoded by ``engine.text.decode.decode_bytes`` (re-exported here): binary files are
  refused; UTF-8, UTF-16 (with or without a BOM) and Windows-1252 are read.
- HTML is reduced to its text with the standard library's ``html.parser``: scripts, styles and the
  head are dropped, block elements become paragraph breaks, entities are decoded. Page furniture
  (navigation, asides, forms, dialogs, cookie and newsletter boxes, share buttons, "related" lists)
  is left out, a page with an <article> or <main> is read as that, and its <h1> (else <title>)
  becomes the first line, which ``engine.summarize.document.find_title`` takes as the title.
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


# Page furniture, never the article: these elements, elements with these ARIA roles, and elements
# whose class or id contains one of the words (cookie banners, "Most read" lists, share buttons).
_SKIP_TAGS = {"script", "style", "head", "noscript", "template", "svg", "iframe", "nav", "footer"}
_SKIP_TAGS |= {"aside", "form", "dialog", "button", "select"}
_SKIP_ROLES = {"banner", "dialog", "alertdialog", "complementary", "navigation", "contentinfo"}
_SKIP_NAMES = re.compile(
    r"cookie|consent|banner|newsletter|promo|related|share|social|subscribe", re.IGNORECASE
)
_NEVER_SKIPPED = {"html", "body", "article", "main"}  # "<body class='has-cookie-banner'>" is the page
_REGIONS = {"article", "main"}  # when a page has them, its text is theirs
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# A start tag that closes an open <p> (HTML's implied end tags), for a skipped <p> left open.
_CLOSES_P = {
    "p", "div", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "aside", "header", "footer", "main", "nav", "blockquote", "pre", "hr", "form", "figure",
}  # fmt: skip
_TITLE_SEPARATOR = re.compile(r"\s+[|\u2013\u2014-]\s+|\s+::\s+")


class _TextExtractor(HTMLParser):
    BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
        "article", "header", "blockquote", "pre", "hr", "dd", "dt", "figcaption", "main", "aside",
    }  # fmt: skip
    CELL = {"td", "th"}  # table cells were glued together ("<td>c1</td><td>c2</td>" read "c1c2")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool]] = []  # (text, inside an <article> or <main>)
        self.skip_tag = ""  # the element being skipped ("" when none), and
        self.skip_count = 0  # how many of its kind are open
        self.skip_lists = 0  # lists opened inside it
        self.region_depth = 0  # open <article>/<main> elements (not inside skipped ones)
        self.has_region = False
        self.h1s: list[tuple[int, int, bool]] = []  # (first part, end part, in a region) of each <h1>
        self.h1_start: int | None = None
        self.in_title = False  # inside the page's <title> (not an SVG icon's)
        self.title_done = False
        self.page_title: list[str] = []

    def _skipped(self, tag: str, attrs) -> bool:
        if tag in _SKIP_TAGS:
            return True
        if tag in _NEVER_SKIPPED:
            return False
        values = dict(attrs)
        role = (values.get("role") or "").lower().split()
        if any(r in _SKIP_ROLES for r in role):
            return True
        if values.get("aria-modal") == "true":
            return True
        return bool(_SKIP_NAMES.search(f"{values.get('class') or ''} {values.get('id') or ''}"))

    def handle_starttag(self, tag, attrs):
        if tag == "title" and not self.title_done and self.skip_tag in ("", "head"):
            self.in_title = True
        if tag == "body" and self.skip_tag == "head":
            self.skip_tag = ""  # an unclosed <head> ends where the body starts
        if self.skip_tag:
            if (self.skip_tag == "p" and tag in _CLOSES_P) or (
                self.skip_tag == "li" and tag == "li" and not self.skip_lists
            ):
                self.skip_tag = ""  # the skipped <p> or <li> was left open: this tag closes it
            else:
                if tag == self.skip_tag and tag not in _VOID:
                    self.skip_count += 1
                elif tag in ("ul", "ol"):
                    self.skip_lists += 1
                return
        if self._skipped(tag, attrs):
            if tag not in _VOID:
                self.skip_tag, self.skip_count, self.skip_lists = tag, 1, 0
            return
        if tag in _REGIONS:
            self.region_depth += 1
            self.has_region = True
        if tag == "h1" and self.h1_start is None:
            self.parts.append(("\n\n", self.region_depth > 0))
            self.h1_start = len(self.parts)
            return
        if tag in self.BLOCK:
            self.parts.append(("\n\n", self.region_depth > 0))
        elif tag in self.CELL:
            self.parts.append((" ", self.region_depth > 0))

    def handle_endtag(self, tag):
        if tag == "title" and self.in_title:
            self.in_title, self.title_done = False, True
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_count -= 1
                if self.skip_count <= 0:
                    self.skip_tag = ""
            elif tag in ("ul", "ol"):
                if self.skip_lists:
                    self.skip_lists -= 1
                elif self.skip_tag == "li":
                    self.skip_tag = ""  # the list of a skipped <li> left open ends
            return
        inside = self.region_depth > 0
        if tag in _REGIONS and self.region_depth:
            self.region_depth -= 1
        if tag == "h1" and self.h1_start is not None:
            self.h1s.append((self.h1_start, len(self.parts), inside))
            self.h1_start = None
            self.parts.append(("\n\n", inside))
        elif tag in self.BLOCK:
            self.parts.append(("\n\n", inside))
        elif tag in self.CELL:
            self.parts.append((" ", inside))

    def handle_data(self, data):
        if self.in_title:
            self.page_title.append(data)
        elif not self.skip_tag:
            self.parts.append((data, self.region_depth > 0))


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _page_title(title: str) -> str:
    """The <title> without the site's name: of "Local bakery wins award - The Gazette" (or "The
    Gazette | Local bakery wins award") the part with the most words."""
    parts = [p.strip() for p in _TITLE_SEPARATOR.split(title) if p.strip()]
    return max(parts, key=lambda p: len(p.split())) if len(parts) > 1 else title


def html_to_text(html: str) -> str:
    """The readable text of an HTML document or fragment, paragraphs separated by blank lines.

    Page furniture is left out: navigation, headers and footers by role, asides, forms, dialogs, and
    elements whose class or id names a cookie notice, consent, banner, newsletter, promotion,
    related links, sharing or subscribing. When the page has an <article> or <main>, only their
    text is kept. The title comes first, as a line of its own that ``find_title`` reads as the
    title: the first <h1> (inside the article when there is one), else the page's <title>."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    parts = parser.parts
    if parser.has_region and any(t.strip() for t, inside in parts if inside):
        keep = [inside for _, inside in parts]
        h1s = [h for h in parser.h1s if h[2]]
    else:
        keep = [True] * len(parts)
        h1s = parser.h1s
    title = ""
    if h1s:
        first, end, _ = h1s[0]
        title = _tidy("".join(t for t, _ in parts[first:end])).replace("\n", " ")
        for k in range(first, end):
            keep[k] = False
    if not title:
        title = _page_title(" ".join(" ".join(parser.page_title).split()))
    body = _tidy("".join(t for (t, _), k in zip(parts, keep) if k))
    if title and body:
        return f"{title}\n\n{body}"
    return title or body
