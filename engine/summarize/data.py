"""Summarisation data sets for evaluation: readers, reference splitting and a deterministic split.

Formats (a registry, ``READERS``):

- ``bbc``: the BBC News Summary layout, ``News Articles/<category>/NNN.txt`` (line 1 the headline,
  then the article) and ``Summaries/<category>/NNN.txt`` (article sentences joined without spaces).
  ``DIR`` may be that folder or a folder holding ``bbc_news_summary``.
- ``jsonl``: one ``{"text": ..., "summary": ...}`` object per line (``summary`` a string or a list
  of sentences); ``DIR`` may be a ``.jsonl`` file or a folder of them.

The held-out split hashes each example's id (``<category>/<file>`` for BBC, the text itself for
JSON Lines): ``md5 % 10`` in {0, 1} is *test* (about 20%), the rest is *train* (for tuning).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from engine.text.decode import decode_bytes

SPLITS = ("test", "train", "all")
TEST_BUCKETS = frozenset({0, 1})  # md5(id) % 10 in this set -> test


@dataclass
class Example:
    """One text with its reference summary."""

    id: str  # stable identifier, hashed for the split
    text: str  # the text to summarise (for BBC: headline line, blank line, article)
    reference: list[str]  # the reference summary, one sentence per entry


def is_test(example_id: str) -> bool:
    """True for the held-out part: md5 of the id, modulo 10, in TEST_BUCKETS."""
    return int(hashlib.md5(example_id.encode("utf-8")).hexdigest(), 16) % 10 in TEST_BUCKETS


def select_split(examples: list[Example], split: str) -> list[Example]:
    """The ``test`` part, the ``train`` part (everything else) or ``all`` examples."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if split == "all":
        return list(examples)
    want_test = split == "test"
    return [e for e in examples if is_test(e.id) == want_test]


# A reference sentence ends at . ! ? (optionally a closing quote) followed, with or without a space,
# by a capital letter or an opening quote: BBC summaries glue sentences together ("$10.9bn.For the").
# A single capital before the full stop is an initial ("U.K."), not a sentence end.
_GLUED_SENTENCE_END = re.compile(
    r"(?<=[.!?][\"'\u201d\u2019])\s*(?=[\"'\u201c\u2018]?[A-Z])|(?<=[.!?])(?<!\b[A-Z]\.)\s*(?=[\"'\u201c\u2018]?[A-Z])"
)


def split_reference(summary: str) -> list[str]:
    """Reference sentences: on line breaks when there are any, else at glued sentence ends."""
    lines = [ln.strip() for ln in summary.splitlines() if ln.strip()]
    if len(lines) > 1:
        return lines
    # Zero-width splits on both sides of an ambiguous quote ('said."The') leave a lone '"': drop such
    # fragments, which would otherwise count as reference sentences.
    return [s.strip() for s in _GLUED_SENTENCE_END.split(summary) if any(c.isalnum() for c in s)]


def _read_text(path: Path) -> str:
    return decode_bytes(path.read_bytes(), str(path)).replace("\r\n", "\n")


def read_bbc(root: str | Path) -> list[Example]:
    """Every article with a summary under a BBC News Summary folder, sorted by id."""
    root = Path(root)
    if not (root / "News Articles").is_dir() and (root / "bbc_news_summary" / "News Articles").is_dir():
        root = root / "bbc_news_summary"
    articles, summaries = root / "News Articles", root / "Summaries"
    if not articles.is_dir() or not summaries.is_dir():
        raise FileNotFoundError(
            f"{root}: expected 'News Articles/' and 'Summaries/' folders (BBC News Summary)"
        )
    out = []
    for path in sorted(articles.glob("*/*.txt")):
        ref_path = summaries / path.parent.name / path.name
        if not ref_path.exists():
            continue
        ref = split_reference(_read_text(ref_path))
        if ref:
            out.append(Example(f"{path.parent.name}/{path.name}", _read_text(path), ref))
    if not out:
        raise ValueError(f"{root}: no article/summary pairs found")
    return out


def read_jsonl(path: str | Path) -> list[Example]:
    """Examples from a ``.jsonl`` file or every ``*.jsonl`` file in a folder."""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files or not files[0].exists():
        raise FileNotFoundError(f"{path}: no .jsonl file")
    out = []
    for file in files:
        for n, line in enumerate(decode_bytes(file.read_bytes(), str(file)).splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text, summary = obj["text"], obj["summary"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(
                    f"{file}:{n}: expected an object with 'text' and 'summary' ({exc})"
                ) from None
            ref = [str(s).strip() for s in summary if str(s).strip()] if isinstance(summary, list) else None
            if ref is None:
                ref = _split_plain_summary(str(summary))
            if str(text).strip() and ref:
                out.append(Example(hashlib.md5(str(text).encode("utf-8")).hexdigest(), str(text), ref))
    if not out:
        raise ValueError(f"{path}: no examples with a non-empty text and summary")
    return out


def _split_plain_summary(summary: str) -> list[str]:
    lines = [ln.strip() for ln in summary.splitlines() if ln.strip()]
    if len(lines) > 1:
        return lines
    from engine.summarize.document import SPLITTER_BACKEND
    from engine.text.sentences import split_sentences

    return [s.strip() for s in split_sentences(summary, backend=SPLITTER_BACKEND) if s.strip()]


# format name -> reader(path) -> list[Example]
READERS = {"bbc": read_bbc, "jsonl": read_jsonl}


# What a format's examples teach by default ("auto"): a BBC text starts with its headline; a JSON
# Lines object carries a "summary". The "title" default failed on the documented .jsonl format.
DEFAULT_TARGET = {"bbc": "title", "jsonl": "summary"}


def detect_format(path: str | Path) -> str:
    """``jsonl`` for a file or a folder holding .jsonl files, else ``bbc`` (the BBC News layout)."""
    p = Path(path)
    if p.is_file() or (p.is_dir() and any(p.glob("*.jsonl"))):
        return "jsonl"
    return "bbc"


def load_examples(path: str | Path, fmt: str) -> list[Example]:
    """Read a data set in format ``fmt`` (a name in READERS)."""
    if fmt not in READERS:
        raise ValueError(f"unknown data format {fmt!r}; known: {', '.join(READERS)}")
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return READERS[fmt](path)
