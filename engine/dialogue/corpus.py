"""Dialogue corpora: readers for several formats, turn merging and a deterministic split.

A corpus is a list of :class:`Dialogue` (an id and its turns, speakers alternating). Readers:
- ``chitchat``: the chitchat-dataset JSON (``{id: {"messages": [[{text, sender}, …], …]}}``);
  with no path, the copy installed with the ``chitchat-dataset`` package;
- ``chatterbot``: chatterbot-corpus YAML files (``conversations: [[a, b, …], …]``); a file or a
  folder of ``*.yml``; with no path, the installed English corpus;
- ``dailydialog``: one dialogue per line, utterances separated by ``__eou__``;
- ``text``: one utterance per line, a blank line between dialogues;
- ``json``: a list of ``{"id": …, "turns": [...]}`` (and Parlance's own conversation export);
- ``csv``: a CSV/TSV chat export, one message per row (conversation, speaker, text columns) or
  one exchange per row (context, response); see :func:`read_csv`.
Consecutive messages by the same speaker merge into one turn.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.extras import require_corpus


@dataclass(frozen=True)
class Dialogue:
    id: str  # stable identifier, used for the train/valid/test split
    turns: tuple[str, ...]  # utterances; consecutive turns come from alternating speakers


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def merge_turns(messages) -> tuple[str, ...]:
    """(speaker, text) pairs -> turns, merging consecutive messages of one speaker (empty ones are
    dropped first, so a speaker's messages on either side of one merge too)."""
    turns: list[str] = []
    last = object()
    for speaker, text in messages:
        text = _clean(text)
        if not text:
            continue
        if speaker == last and turns:
            turns[-1] = f"{turns[-1]} {text}"
        else:
            turns.append(text)
            last = speaker
    return tuple(turns)


def read_chitchat(path: str | Path | None = None) -> list[Dialogue]:
    if path is None:
        require_corpus("chitchat")  # the hint named PyPI's unrelated 'parlance'
        import chitchat_dataset

        path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not chitchat-dataset JSON (expected an object of conversations)")
    out = []
    for cid, conv in data.items():
        try:
            msgs = [(m["sender"], m["text"]) for group in conv["messages"] for m in group]
        except (KeyError, TypeError):
            raise ValueError(f"{path}: conversation {cid!r} is not in chitchat format") from None
        turns = merge_turns(msgs)
        if len(turns) >= 2:
            out.append(Dialogue(str(cid), turns))
    return out


def chatterbot_files(folder: Path) -> list[Path]:
    """The YAML files of a chatterbot-corpus folder (top level, .yml or .yaml)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix in (".yml", ".yaml"))


def read_chatterbot(path: str | Path | None = None) -> list[Dialogue]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml is a runtime dependency
        raise ValueError("reading chatterbot YAML needs PyYAML") from None
    if path is None:
        require_corpus("chatterbot")
        import chatterbot_corpus

        path = Path(chatterbot_corpus.__file__).parent / "data" / "english"
    path = Path(path)
    files = chatterbot_files(path) if path.is_dir() else [path]
    out = []
    for f in files:
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f"{f}: not valid chatterbot YAML ({exc})") from None
        convs = doc.get("conversations") if isinstance(doc, dict) else None
        if not isinstance(convs, list):
            raise ValueError(f"{f}: no 'conversations' list (not chatterbot-corpus YAML)")
        for i, conv in enumerate(convs):
            if isinstance(conv, list):
                turns = merge_turns([(j % 2, t) for j, t in enumerate(conv) if isinstance(t, str)])
                if len(turns) >= 2:
                    out.append(Dialogue(f"{f.stem}:{i}", turns))
    return out


def read_dailydialog(path: str | Path) -> list[Dialogue]:
    out = []
    for i, line in enumerate(_read_text(path).splitlines()):
        parts = [p for p in (_clean(u) for u in line.split("__eou__")) if p]
        if len(parts) >= 2:
            out.append(Dialogue(f"{Path(path).name}:{i}", tuple(parts)))
    text = _read_text(path)
    if not out and "__eou__" in text:
        raise ValueError(f"{path}: every dialogue has one turn; a reply needs at least two")
    if not out and text.strip():
        raise ValueError(f"{path}: no '__eou__'-separated dialogues found (not DailyDialog format)")
    return out


def read_text(path: str | Path) -> list[Dialogue]:
    out, cur, start = [], [], 0
    lines = _read_text(path).splitlines() + [""]
    for i, line in enumerate(lines):
        if line.strip():
            if not cur:
                start = i
            cur.append(_clean(line))
        elif cur:
            if len(cur) >= 2:
                out.append(Dialogue(f"{Path(path).name}:{start}", tuple(cur)))
            cur = []
    return out


def _export_turns(messages) -> tuple[str, ...]:
    """A Parlance JSON export holds every version of every message: the thread the app shows (the
    newest version at each level), failed replies left out, consecutive messages of one role merged."""
    from engine.history_export import walk_thread

    msgs = [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    try:
        shown = [m for m, _, _ in walk_thread(msgs, None)]
    except (KeyError, TypeError):  # not a tree (hand-made file): take the messages in order
        shown = msgs
    return merge_turns((m.get("role"), str(m.get("text") or "")) for m in shown if m.get("status") != "error")


def read_json(path: str | Path) -> list[Dialogue]:
    data = _read_json(path)
    if isinstance(data, dict) and "messages" in data:  # a Parlance conversation export
        data = [{"id": data.get("id", Path(path).stem), "turns": list(_export_turns(data["messages"]))}]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of {{'id', 'turns'}} objects")
    out = []
    for i, item in enumerate(data):
        turns = item.get("turns") if isinstance(item, dict) else None
        if not isinstance(turns, list):
            raise ValueError(f"{path}: item {i} has no 'turns' list")
        # (a number or null in a hand-made file is not a turn: it became the text "None")
        turns = tuple(t for t in (_clean(x) for x in turns if isinstance(x, str)) if t)
        if len(turns) >= 2:
            out.append(Dialogue(str(item.get("id", i)), turns))
    return out


ID_COLUMNS = (
    "conversation_id",
    "conversation",
    "dialogue_id",
    "dialog_id",
    "conv_id",
    "thread_id",
    "chat_id",
)
SPEAKER_COLUMNS = ("speaker", "author", "role", "sender", "from", "user", "name")
TEXT_COLUMNS = ("text", "message", "utterance", "content", "body")
PAIR_COLUMNS = (("context", "response"), ("prompt", "response"), ("question", "answer"), ("input", "output"))


def read_csv(path: str | Path) -> list[Dialogue]:
    """A CSV/TSV chat export: one message per row with a conversation column (any of ID_COLUMNS),
    a text column (TEXT_COLUMNS) and optionally a speaker column (rows of one conversation in file
    order; consecutive rows of one speaker merge); or one exchange per row (context,response /
    question,answer …). Column names are matched case-insensitively; anything else is refused
    with the columns it has."""
    import csv
    import io

    text = _read_text(path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if Path(path).suffix.lower() == ".tsv" else csv.excel
    # a message may be long (a pasted article: more than csv's 128 KB field limit) and quoted
    # messages may hold newlines
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: the CSV file is empty")
    header = [h.strip().lower() for h in rows[0]]

    def col(names) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    cid, spk, txt = col(ID_COLUMNS), col(SPEAKER_COLUMNS), col(TEXT_COLUMNS)
    if cid is not None and txt is not None:
        convs: dict[str, list[tuple[str, str]]] = {}
        for r in body:
            if len(r) > max(cid, txt):
                key = r[cid].strip()  # ("1 " and "1" are one conversation)
                who = r[spk] if spk is not None and spk < len(r) else str(len(convs.get(key, [])) % 2)
                convs.setdefault(key, []).append((who, r[txt]))
        out = [Dialogue(f"{Path(path).name}:{k}", merge_turns(v)) for k, v in convs.items()]
        return [d for d in out if len(d.turns) >= 2]
    for a, b in PAIR_COLUMNS:
        if a in header and b in header:
            i, j = header.index(a), header.index(b)
            pairs = [(r[i], r[j]) for r in body if len(r) > max(i, j)]
            out = [
                Dialogue(f"{Path(path).name}:{n}", (_clean(x), _clean(y))) for n, (x, y) in enumerate(pairs)
            ]
            return [d for d in out if all(d.turns)]
    raise ValueError(
        f"{path}: a CSV corpus needs a conversation column ({', '.join(ID_COLUMNS[:3])} …) and a text "
        f"column ({', '.join(TEXT_COLUMNS[:3])} …), or context,response columns; this file has "
        f"{', '.join(rows[0][:8]) or 'no header'}"
    )


def _read_text(path) -> str:
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p} is a folder; with --format give a corpus file in it")
    if not p.is_file():
        raise FileNotFoundError(f"corpus file not found: {p}")
    from engine.text.decode import decode_bytes

    # UTF-8 (with Excel's BOM), UTF-16 with its BOM, or Windows-1252 (Latin-1 files: "héllo" was
    # learned as "h\ufffdllo"); binary files and other legacy encodings are refused by name
    return decode_bytes(p.read_bytes(), str(p))


def _read_json(path):
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


READERS: dict[str, Callable] = {
    "chitchat": read_chitchat,
    "chatterbot": read_chatterbot,
    "dailydialog": read_dailydialog,
    "text": read_text,
    "json": read_json,
    "csv": read_csv,
}


def guess_format(path: str | Path) -> str:
    p = Path(path)
    if p.is_dir() and not chatterbot_files(p):
        raise ValueError(
            f"{p} is a folder without chatterbot .yml files; give one chat file (CSV, JSON, "
            "DailyDialog or plain text)"
        )
    if p.is_dir() or p.suffix in (".yml", ".yaml"):
        return "chatterbot"
    if p.suffix == ".json":
        head = _read_text(p)[:200].lstrip()
        return "json" if head.startswith("[") or '"messages": [{' in head else "chitchat"
    if p.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    return "dailydialog" if "__eou__" in _read_text(p)[:20000] else "text"


def load_corpus(spec: str, fmt: str | None = None) -> list[Dialogue]:
    """``spec`` is a built-in corpus name (chitchat, chatterbot) or a path; ``fmt`` forces a reader."""
    if fmt is None and spec in ("chitchat", "chatterbot"):
        return READERS[spec]()
    fmt = fmt or guess_format(spec)
    if fmt not in READERS:
        raise ValueError(f"unknown corpus format {fmt!r}; known: {', '.join(READERS)}")
    return READERS[fmt](spec)


def split_of(dialogue_id: str, valid_pct: int = 5, test_pct: int = 5) -> str:
    """Deterministic split by hashing the conversation id: 'train', 'valid' or 'test'."""
    h = int(hashlib.md5(dialogue_id.encode("utf-8")).hexdigest(), 16) % 100
    if h < test_pct:
        return "test"
    if h < test_pct + valid_pct:
        return "valid"
    return "train"


def split(dialogues: list[Dialogue], part: str) -> list[Dialogue]:
    return [d for d in dialogues if split_of(d.id) == part]


def train_valid(dialogues: list[Dialogue], share: float = 0.1) -> tuple[list[Dialogue], list[Dialogue], bool]:
    """(training, validation dialogues, last_reply_only) that never overlap. The hash split decides;
    when it puts no dialogue in "valid" (a small corpus, e.g. a few of your own chats), ``share``
    of them (at least one) is held out instead: those whose ids hash highest. The choice can change
    as dialogues are added; a run keeps its own (engine.dialogue.run.held_out_split). A single
    dialogue is cut before its last turn: the earlier turns train, the last reply (with its
    context) is the held-out pair, and ``last_reply_only`` is True: score only each validation
    dialogue's last reply. ValueError when there is nothing to split."""
    train_d, valid_d = split(dialogues, "train"), split(dialogues, "valid")
    if valid_d and train_d:
        return train_d, valid_d, False
    non_test = [d for d in dialogues if split_of(d.id) != "test"]
    pool = non_test if len(non_test) >= 2 else list(dialogues)  # two chats are enough, test or not
    if len(pool) >= 2:
        ranked = sorted(pool, key=lambda d: hashlib.md5(d.id.encode("utf-8")).hexdigest())
        n = max(1, round(share * len(pool)))
        held = {id(d) for d in ranked[-n:]}
        return [d for d in pool if id(d) not in held], [d for d in pool if id(d) in held], False
    if pool and len(pool[0].turns) >= 3:
        d = pool[0]
        return [Dialogue(d.id, d.turns[:-1])], [d], True
    raise ValueError("at least two dialogues (or one with three turns) are needed to hold one out")


def examples(dialogues: list[Dialogue], context_turns: int) -> Iterator[tuple[list[str], str]]:
    """(context, target) pairs: every turn after the first is a target for its preceding turns."""
    for d in dialogues:
        for i in range(1, len(d.turns)):
            yield list(d.turns[max(0, i - context_turns) : i]), d.turns[i]
