"""Chat helpers that run on the engine thread: thread payloads, model context, attention records.

Pure functions over a HistoryStore and a bot; no Qt, so they are easy to test and to read.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from engine.dialogue.corpus import merge_turns

DISPLAY_KEYS = (
    "id",
    "conversation_id",
    "parent_id",
    "role",
    "text",
    "status",
    "model",
    "latency_ms",
    "feedback",
    "created_at",
    "settings",
)
ATTENTION_KEYS = (
    "out_tokens",
    "context_tokens",
    "context_turn",
    "turn_labels",
    "word_attention",
    "turn_attention",
)


def thread_payload(store, cid: int, leaf_id: int | None = None, focus: int | None = None) -> dict:
    """Everything the chat view needs to show one branch of a conversation.

    Each message carries ``versions`` (ids of it and its siblings, oldest first) and ``version``
    (its 1-based position there), so the view can draw "< 2/3 >" switchers. Attention matrices
    are left out (``has_attention`` says whether there are any); the view asks for them on click.
    """
    conversation = store.get_conversation(cid)
    # read once, without attention: this read messages() and thread() (messages() again), parsing
    # every attention matrix twice only to keep has_attention (~0.6 s after 100 exchanges)
    everything = store.messages(cid, attention=False)
    by_parent: dict[int | None, list[int]] = defaultdict(list)
    for m in everything:
        by_parent[m["parent_id"]].append(m["id"])
    messages = []
    for m, _, _ in store.walk(everything, cid, leaf_id):
        sibs = by_parent[m["parent_id"]]
        row = {k: m.get(k) for k in DISPLAY_KEYS}
        row["versions"] = list(sibs)
        row["version"] = sibs.index(m["id"]) + 1
        row["has_attention"] = m["has_attention"]
        row["has_reply"] = bool(by_parent.get(m["id"]))
        messages.append(row)
    return {
        "conversation": conversation,
        "messages": messages,
        "leaf": messages[-1]["id"] if messages else None,
        "focus": focus,
    }


def _readable(thread: list[dict]) -> list[tuple[int, dict]]:
    """(position, message) of the messages the model may read: not failed replies."""
    return [(k, m) for k, m in enumerate(thread) if m.get("status") != "error"]


def model_turns(thread: list[dict], max_chars: int) -> tuple[list[str], bool]:
    """The conversation as the model's ``turns`` (oldest first), cut to ``max_chars`` in all.

    Turns alternate, as in the corpora the model learnt from: messages that say nothing (a reply
    stopped before its first word) and replies that failed (their partial text is kept for the
    person, not for the model, as in training on the history) are left out, and consecutive
    messages of one role (a message left unanswered, then another) are one turn. The newest text
    is kept: a long turn keeps its end, and older turns are dropped once the budget is spent.
    Returns (turns, truncated).
    """
    merged = merge_turns((m.get("role", k), m["text"] or "") for k, m in _readable(thread))
    budget = max(int(max_chars), 1)
    kept: list[str] = []
    truncated = False
    for text in reversed(merged):
        if len(text) > budget:
            text = text[-budget:]
            truncated = True
        kept.append(text)
        budget -= len(text)
        if budget <= 0:
            truncated = truncated or len(kept) < len(merged)
            break
    return list(reversed(kept)), truncated


def bot_replies(thread: list[dict]) -> list[str]:
    """The bot's replies in a stored thread that say something, newest first (by role, so a reply
    stopped before its first word or a message left unanswered cannot shift them); failed replies
    are not among them."""
    mine = [m["text"] for _, m in _readable(thread) if m.get("role") == "bot" and (m["text"] or "").strip()]
    return mine[::-1]


def attention_record(reply) -> dict | None:
    """The JSON-ready attention of a Reply (what the 'Why this reply' view draws), or None."""
    if not getattr(reply, "out_tokens", None):
        return None
    return {k: list(getattr(reply, k, []) or []) for k in ATTENTION_KEYS}


def tokens_per_second(n_tokens: int, latency_ms: float | None) -> float | None:
    if not n_tokens or not latency_ms or latency_ms <= 0:
        return None
    return n_tokens / (latency_ms / 1000.0)


def model_entry(folder: Path, shipped_root: Path) -> dict:
    """What the model picker shows for one model folder (no torch needed)."""
    from engine.checkpoint import read_card  # (engine.checkpoint imports no torch at load)
    from engine.lab.jobs import run_state  # (no torch either)

    card = read_card(folder)
    try:
        shipped = folder.resolve().is_relative_to(shipped_root.resolve())
    except OSError:
        shipped = False
    # a run cancelled or cut off before its end looked like a finished model in the pickers
    unfinished = not shipped and run_state(folder) == "unfinished"
    return {
        "folder": str(folder),
        "name": folder.name + (" (unfinished)" if unfinished else ""),
        "card": card,
        "source": "shipped" if shipped else "yours",
    }
