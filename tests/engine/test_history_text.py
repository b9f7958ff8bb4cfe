"""History text found in a bug hunt: search snippets of long words, NULs and combining marks, the
CLI's output of stored control characters, and the Markdown export of message text. Each test
fails on the code before its fix."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the repo is not installed; make `engine` importable
    sys.path.insert(0, str(REPO))

from engine import cli  # noqa: E402
from engine.history import HistoryStore  # noqa: E402

LONG = "https://example.com/" + "A1b2C3d4" * 620  # a 4,980-character word


@pytest.fixture
def store(tmp_path):
    with HistoryStore(tmp_path / "history.db") as s:
        yield s


def _marked(hit: dict) -> list[str]:
    return [hit["snippet_text"][a:b] for a, b in hit["matches"]]


def _balanced(snippet: str) -> bool:
    depth = 0
    for ch in snippet:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if depth not in (0, 1):
            return False
    return depth == 0


# ---------------------------------------------------------------------------- 5. long words
def test_a_hit_on_a_long_word_gives_a_short_snippet_with_the_match_shown(store):
    """FTS5's snippet() gave the whole 5,000-character word, so the result row lost its snippet."""
    cid = store.create_conversation()
    store.add_message(cid, "user", "see this " + LONG + " end")
    [hit] = store.search("A1b2C3d4")
    assert len(hit["snippet_text"]) < 100
    assert hit["snippet_text"].startswith("see this ") and hit["snippet_text"].endswith("… end")
    [match] = _marked(hit)
    assert match.startswith("A1b2C3d4") and LONG.startswith("https://example.com/" + match)
    assert hit["snippet"] == hit["snippet_text"].replace(match, f"[{match}]") and _balanced(hit["snippet"])
    [hit] = store.search("end")  # a match after the long word: the word is cut, the match kept
    assert len(hit["snippet_text"]) < 100 and _marked(hit) == ["end"]
    assert "https://example.com/A1b2" in hit["snippet_text"]


def test_a_long_word_is_cut_around_a_match_inside_it():
    from engine.history_search import _shorten_long_words

    text = "a " + "x" * 200 + "NEEDLE" + "y" * 200 + " b"
    start = text.index("NEEDLE")
    out, matches = _shorten_long_words(text, [[0, 1], [start, start + 6], [len(text) - 1, len(text)]])
    assert len(out) < 60 and out.startswith("a …") and out.endswith("… b")
    assert [out[a:b] for a, b in matches] == ["a", "NEEDLE", "b"]
    short = "a " + "x" * 60 + " b"  # at the limit: left as it is
    assert _shorten_long_words(short, [[0, 1]]) == (short, [[0, 1]])


# ------------------------------------------------------------------------------ 11. NUL snippet
def test_the_snippet_keeps_the_text_around_a_nul(store):
    """FTS5 writes its snippets with printf("%.*s"), which stops at a NUL: "nul\\0y bell" came back as
    "nul[bell]"."""
    cid = store.create_conversation()
    store.add_message(cid, "user", "nul\x00y bell\x07z esc\x1b[31mred")
    [hit] = store.search("bell")
    assert hit["snippet_text"] == "nul\x00y bell\x07z esc\x1b[31mred" and _marked(hit) == ["bell"]
    assert hit["snippet"] == "nul\x00y [bell]\x07z esc\x1b[31mred"
    assert _marked(store.search("y")[0]) == ["y"] and _marked(store.search("nu")[0]) == ["nul"]
    store.add_summary("source \x00 text", "a summary about ferries", "textrank")
    [summary] = store.search("ferr")
    assert summary["snippet_text"] == "a summary about ferries" and _marked(summary) == ["ferries"]


# ------------------------------------------------------------------- 13. combining marks (Devanagari)
def test_a_highlight_takes_the_whole_last_character_with_its_marks(store):
    """The index drops combining marks: "नमस्ते" was highlighted without its final vowel sign."""
    cid = store.create_conversation()
    store.add_message(cid, "user", "नमस्ते दुनिया")
    [hit] = store.search("नमस्ते")
    assert _marked(hit) == ["नमस्ते"]
    assert _marked(store.search("दुनिया")[0]) == ["दुनिया"]
    store.add_message(cid, "user", "ฉันกินข้าวแล้ว")  # Thai: searched as a substring
    [thai] = store.search("กินข")
    assert _marked(thai) == ["กินข้"] and unicodedata.category(_marked(thai)[0][-1]) == "Mn"


# -------------------------------------------------------------------------- 11. CLI control chars
@pytest.fixture(autouse=True)
def only_history(monkeypatch):
    """Build the parser from the history command alone, so other commands' state cannot break it."""
    monkeypatch.setattr(cli, "COMMANDS", {"history": "engine.history_cli"})
    monkeypatch.setattr(cli, "TRAIN", {})
    monkeypatch.setattr(cli, "EVAL", {})


NASTY = "nul\x00y bell\x07z esc\x1b[31mred title\x1b]0;pwned\x07 csi\x9b2J"


def _controls(text: str) -> set[str]:
    return {ch for ch in text if unicodedata.category(ch) == "Cc"} - {"\n"}


def test_the_cli_shows_stored_control_characters_instead_of_sending_them(tmp_path, capsys):
    """BEL rang the terminal and ESC[31m turned it red: `history search/list/show` printed them."""
    path = tmp_path / "history.db"
    with HistoryStore(path) as s:
        cid = s.create_conversation()
        s.add_message(cid, "user", NASTY)
        sid = s.add_summary(
            "source\x1b[2J line\nnext \x07", "summary \x07 bell", "textrank", {"origin": "a\x1bb"}
        )
        s.add_caption(
            "cat\x07.jpg", "h", "a cat \x1b[5m bell", {"scenes": [{"start_s": 0, "caption": "x\x07y"}]}
        )
    db = ["history", "--db", str(path)]
    for args in (
        ["search", "bell"],
        ["list"],
        ["list", "--kind", "summaries"],
        ["show", "summary", str(sid)],
    ):
        assert cli.main([*db, *args]) == 0
        out = capsys.readouterr().out
        assert not _controls(out), (args, out)
    assert cli.main([*db, "show", "caption", "1"]) == 0
    assert not _controls(capsys.readouterr().out)
    assert cli.main([*db, "search", "bell"]) == 0
    out = capsys.readouterr().out
    assert "nul\\x00y [bell]\\x07z esc\\x1b[31mred" in out  # visible, and nothing lost around the NUL
    assert cli.main([*db, "show", "summary", str(sid)]) == 0
    assert "source\\x1b[2J line\nnext \\x07" in capsys.readouterr().out  # a multi-line field keeps \n
    assert cli.main([*db, "--json", "search", "bell"]) == 0  # JSON stays exact
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["snippet_text"] == NASTY and hits[0]["title"] == NASTY
    assert cli.main([*db, "--json", "show", "summary", str(sid)]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "source\x1b[2J line\nnext \x07"


# ------------------------------------------------------------------------- 12. Markdown export
def _export(tmp_path, *texts: str, title: str = "") -> tuple[str, HistoryStore]:
    s = HistoryStore(tmp_path / "history.db")
    cid = s.create_conversation(title)
    parent = None
    for i, text in enumerate(texts):
        parent = s.add_message(cid, "user" if i % 2 == 0 else "bot", text, parent)
    return s.export_conversation(cid, "md"), s


def _sections(md: str) -> list[str]:
    """The document's headings as a Markdown viewer sees them (outside fenced code)."""
    heads, fence = [], ""
    for line in md.split("\n"):
        if fence:
            fence = "" if line.strip() == fence else fence
        elif line.lstrip().startswith(("```", "~~~")):
            fence = line.strip()[:3]
        elif line.startswith("#"):
            heads.append(line)
    return heads


def test_markdown_export_keeps_each_message_inside_its_section(tmp_path):
    """A message starting with "#" became a document heading, and an unclosed fence turned every
    later "### You / ### Parlance" section into code."""
    md, s = _export(
        tmp_path,
        "# Title-like first line\n## and a sub heading",
        "```python\nprint('open fence')",
        "Text\n---\nunder it, and\n===",
        "last words",
        title="Kotlin <generics>",
    )
    with s:
        assert _sections(md) == [
            "# Kotlin \\<generics>",
            "### You",
            "### Parlance",
            "### You",
            "### Parlance",
        ]
        assert "\\# Title-like first line\n\\## and a sub heading" in md
        assert "```python\nprint('open fence')\n```\n" in md  # the fence closed at the message's end
        assert "Text\n\\---\nunder it, and\n\\===" in md  # no setext headings
        assert md.rstrip().endswith("last words")


def test_markdown_export_writes_text_not_markup_or_control_characters(tmp_path):
    """A NUL was written into the .md, and "List<String>" vanished in Markdown viewers."""
    md, s = _export(
        tmp_path,
        "x<y and List<String>, `List<T>` in code and &amp; as typed",
        "nul\x00 bell\x07 esc\x1b[31m\r\nnext line\ttab\n```\n<b>in a fence</b>\n```",
    )
    with s:
        assert not _controls(md.replace("\t", ""))
        assert "x\\<y and List\\<String>, `List<T>` in code and \\&amp; as typed" in md
        assert "nul\ufffd bell\ufffd esc\ufffd[31m\nnext line\ttab\n```\n<b>in a fence</b>\n```" in md
        snap = s.export_conversation(1, "json")  # the JSON export stays exact
        texts = [m["text"] for m in json.loads(snap)["messages"]]
        assert texts[1] == "nul\x00 bell\x07 esc\x1b[31m\r\nnext line\ttab\n```\n<b>in a fence</b>\n```"
        cid = s.import_conversation(snap)
        assert json.loads(s.export_conversation(cid, "json"))["messages"][1]["text"] == texts[1]
