"""The Summarize panel's jobs: what runs on the engine thread (no Qt, no widgets here).

Every job returns plain dicts the panel renders (``{"cancelled": True}`` when it was cancelled
before it finished); bad input raises ValueError with a message for a person, which the engine
service turns into ``job_failed``. A summary job saves its result in the
history (``store.add_summary``) before returning, with what the panel needs to show it again:
the settings, the chosen sentences and, up to ``MAX_STORED_SENTENCES`` sentences, every score
and span (above that they are computed again when the summary is reopened).

TextRank runs here; another method (desktop/abstractive_ops.py) passes its ``runner``, and its
``Summary.extras`` (the abstractive model's attention map, copy shares and beams) travel in the
result and the history row.
"""

from __future__ import annotations

import bisect
import json
import re
import time
from pathlib import Path

from engine.history import save_or_note
from engine.history_export import write_whole
from engine.text.normalize import count_words

SUMMARY_KIND = "summary"
MAX_STORED_SENTENCES = 20_000  # store per-sentence scores and spans up to this many sentences
LENGTH_MODES = ("sentences", "ratio", "words")
EXPORT_FORMATS = ("txt", "md", "json")
_SENTENCE_PUNCT = re.compile(r"[.!?;:\u3002\uff01\uff1f]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def utf16_offsets(text: str, offsets: list[int]) -> list[int]:
    """Python string offsets -> UTF-16 offsets (what Qt's text positions count)."""
    astral = [m.start() for m in _ASTRAL.finditer(text)]
    if not astral:
        return list(offsets)
    return [o + bisect.bisect_left(astral, o) for o in offsets]


def shade_levels(scores: list[float]) -> list[float]:
    """A shade in [0, 1] per score: the mean of its place between the lowest and highest score and
    its rank (so a few outliers do not leave every other sentence the same pale colour)."""
    n = len(scores)
    if n == 0:
        return []
    lo, hi = min(scores), max(scores)
    if hi - lo <= 1e-12:
        return [0.5] * n
    rank = [0.0] * n
    for r, i in enumerate(sorted(range(n), key=scores.__getitem__)):
        rank[i] = r / (n - 1)
    return [0.5 * (s - lo) / (hi - lo) + 0.5 * q for s, q in zip(scores, rank)]


def shading(text: str, spans: list, scores: list[float], linear: bool = False) -> dict:
    """What the source view paints: UTF-16 ``starts`` and ``ends`` and a shade ``level`` per sentence
    (``linear``: each score over the largest, for shares such as attention, where most are 0)."""
    n = min(len(spans), len(scores))
    flat = utf16_offsets(text, [o for s, e in spans[:n] for o in (s, e)])
    if linear:
        top = max(scores[:n], default=0.0)
        levels = [float(s) / top if top > 0 else 0.0 for s in scores[:n]]
    else:
        levels = shade_levels(list(scores[:n]))
    return {"starts": flat[0::2], "ends": flat[1::2], "levels": levels}


def result_shading(result: dict) -> dict:
    """``shading`` for a result: by rank and score for TextRank, linear for attention shares."""
    linear = not result["method"].startswith("textrank")
    return shading(result["text"], result["spans"], result["scores"], linear)


def default_settings() -> dict:
    return {
        "method": "textrank",
        "variant": "default",
        "length": "sentences",
        "value": 3,
        "keywords": 8,
        "beam": 4,
    }


MAX_BEAM = 10  # the abstractive beam the panel allows


def beam_of(settings: dict) -> int:
    """The beam size in ``settings`` (default 4), kept within 1..MAX_BEAM."""
    try:
        return max(1, min(MAX_BEAM, int(settings.get("beam", 4))))
    except (TypeError, ValueError, OverflowError):
        return 4


def budget_kwargs(settings: dict) -> dict:
    """``summarize`` keyword arguments for the panel's length setting; ValueError when unknown or
    not a finite number (settings can come back from a damaged history row)."""
    import math

    mode, value = settings.get("length", "sentences"), settings.get("value", 3)
    if mode not in LENGTH_MODES:
        raise ValueError(f"unknown length mode {mode!r}; known: {', '.join(LENGTH_MODES)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"the summary length must be a number, not {value!r}")
    if mode == "ratio":
        return {"ratio": number}
    return {mode: int(number)}


def describe_length(settings: dict) -> str:
    mode, value = settings.get("length", "sentences"), settings.get("value", 3)
    if mode == "ratio":
        return f"{float(value):.0%} of the sentences"
    return f"{int(value)} {'sentence' if mode == 'sentences' and int(value) == 1 else mode}"


def _run_textrank(text: str, settings: dict, cancel=None):
    from engine.summarize.textrank import summarize, variant

    config = variant(settings.get("variant", "default"))
    return summarize(text, config, keywords=int(settings.get("keywords", 0)), **budget_kwargs(settings))


def summarize_text(
    text: str, settings: dict, origin: str = "", *, progress=None, cancel=None, store=None, runner=None
) -> dict:
    """Summarise pasted ``text`` (HTML stripped when it is HTML) and save it in the history;
    ``runner(text, settings, cancel) -> Summary`` is the method (default: TextRank)."""
    from engine.summarize.textio import prepare_text

    if not text.strip():
        raise ValueError("Nothing to summarize: the text is empty. Paste a text or open a file.")
    prepared = prepare_text(text)
    return _summarize(prepared, settings, origin, _markup_notes(text), progress, cancel, store, runner)


def _markup_notes(text: str) -> list[str]:
    """What prepare_text stripped from ``text``, asked the way it decides (pasted Markdown was
    reported as HTML: any change to the text counted as HTML)."""
    from engine.summarize.textio import looks_like_html, looks_like_markdown

    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_html(text):
        return [
            "The text was HTML: tags, scripts, styles and page furniture (menus, asides, cookie "
            "banners) were removed before summarizing; an article or main element is read alone."
        ]
    if looks_like_markdown(text):
        return ["The text was Markdown: its markup and code blocks were removed before summarizing."]
    return []


def summarize_file(path: str, settings: dict, *, progress=None, cancel=None, store=None, runner=None) -> dict:
    """Read ``path`` (txt, md, html; binary and over-large files refused), summarise, save."""
    from engine.summarize.textio import MAX_BYTES, decode_bytes, looks_like_html, prepare_text

    file = Path(path)
    name = file.name
    if progress:
        progress({"stage": "reading", "file": name})
    if file.is_dir():
        raise ValueError(f"{name}: is a folder, not a text file")
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise ValueError(f"{name}: {size / 2**20:.0f} MB is more than the {MAX_BYTES // 2**20} MB limit")
        data = file.read_bytes()
    except OSError as exc:
        raise ValueError(f"{name}: cannot be opened ({exc.strerror or exc})") from None
    decoded = decode_bytes(data, name)  # ValueError for binary data
    text = prepare_text(decoded)
    if not text.strip():
        raise ValueError(f"{name}: nothing to summarize (the file has no text)")
    notes = ["The file is HTML: only its readable text was kept."] if looks_like_html(decoded) else []
    return _summarize(text, settings, name, notes, progress, cancel, store, runner)


def _summarize(text, settings, origin, notes, progress, cancel, store, runner=None) -> dict:
    if cancel is not None and cancel.cancelled:
        return {"cancelled": True}
    if progress:
        progress({"stage": "summarizing", "words": count_words(text)})
    t0 = time.perf_counter()
    summary = (runner or _run_textrank)(text, settings, cancel)
    if cancel is not None and cancel.cancelled:
        return {"cancelled": True}
    elapsed_ms = (time.perf_counter() - t0) * 1000
    n = len(summary.source_sentences)
    if n == 0:
        raise ValueError("Nothing to summarize: the text has no words, only symbols or spaces.")
    notes.extend(_notes(text, summary))
    if "beam" in settings:  # what was used, not what was asked (the export and history say it)
        settings = {**settings, "beam": beam_of(settings)}
    result = {
        "text": text,
        "origin": origin,
        "settings": dict(settings),
        "sentences": list(summary.sentences),
        "indices": list(summary.indices),
        "scores": [float(s) for s in summary.scores],
        "spans": [tuple(s) for s in summary.spans],
        "keywords": list(summary.keywords),
        "method": summary.method,
        "title": summary.title,
        "elapsed_ms": elapsed_ms,
        "n_words": count_words(text),
        "summary_words": sum(count_words(s) for s in summary.sentences),
        "notes": notes,
        "summary_id": None,
        "extras": dict(summary.extras),
    }
    if store is None:
        result["notes"].append("History is off: this summary is not saved.")
    else:
        if progress:
            progress({"stage": "saving"})
        result["summary_id"], why = save_or_note(
            lambda: store.add_summary(text, "\n".join(summary.sentences), summary.method, _meta(result, n)),
            "summary",
        )
        if why:
            result["notes"].append(why)
    result["shade"] = result_shading(result)
    return result


def _notes(text: str, summary) -> list[str]:
    n = len(summary.source_sentences)
    notes = []
    if summary.method == "abstractive":
        read = len(((summary.extras.get("attention") or {}).get("cols")) or [])
        if read < sum(len(s.split()) for s in summary.source_sentences):  # the body, without the title
            notes.append(
                f"The model wrote one sentence from the first {read:,} words (the lead, where news puts "
                "the gist); the rest of the text is not read."
            )
        if summary.extras.get("note"):
            notes.append(summary.extras["note"])
        return notes
    if n == 1:
        notes.append("The text is a single sentence, so the summary is that sentence.")
    elif len(summary.indices) >= n:
        notes.append("The text is no longer than the length asked for: every sentence is in the summary.")
    if n > 1 and not _SENTENCE_PUNCT.search(text[:200_000]):
        notes.append(
            "The text has no sentence punctuation: it was cut at line breaks and into pieces of about "
            "40 words, which stand in for sentences."
        )
    return notes


def _meta(result: dict, n: int) -> dict:
    meta = {
        "kind": "parlance.summarize/1",
        "settings": result["settings"],
        "indices": result["indices"],
        "keywords": result["keywords"],
        "title": result["title"],
        "origin": result["origin"],
        "n_sentences": n,
    }
    if n <= MAX_STORED_SENTENCES:
        meta["scores"] = [float(f"{s:.6g}") for s in result["scores"]]
        meta["spans"] = [list(s) for s in result["spans"]]
    elif result["method"] == "abstractive":  # only the lead was read: the rest of the shares are 0
        last = max((i for i, s in enumerate(result["scores"]) if s > 0), default=-1)
        meta["scores"] = [float(f"{s:.6g}") for s in result["scores"][: last + 1]]
    if result["extras"]:
        from desktop.abstractive_ops import stored_extras

        meta["extras"] = stored_extras(result["extras"])
    return meta


def open_summary(item_id: int, *, store=None) -> dict:
    """A saved summary, ready to show: the stored scores and spans, or freshly computed ones when
    they were not stored (a very long text, or a summary saved by another program)."""
    if store is None:
        raise ValueError("History is off, so saved summaries cannot be opened.")
    row = store.get_summary(int(item_id))  # ValueError: missing or damaged
    meta = row.get("meta") or {}
    text, settings = row["source"], {**default_settings(), **(meta.get("settings") or {})}
    if row["method"] == "abstractive":
        settings["method"] = "abstractive"
    sentences = [s for s in row["summary"].split("\n") if s.strip()]
    result = {
        "text": text,
        "origin": meta.get("origin", ""),
        "settings": settings,
        "sentences": sentences,
        "indices": list(meta.get("indices") or []),
        "scores": list(meta.get("scores") or []),
        "spans": [tuple(s) for s in meta.get("spans") or []],
        "keywords": list(meta.get("keywords") or []),
        "method": row["method"],
        "title": meta.get("title", ""),
        "elapsed_ms": None,
        "n_words": count_words(text),
        "summary_words": sum(count_words(s) for s in sentences),
        "notes": [f"From the history, saved {row['created_at'][:16].replace('T', ' ')} UTC."],
        "summary_id": row["id"],
        "extras": dict(meta.get("extras") or {}),
    }
    fits = result["spans"] and all(0 <= s <= e <= len(text) for s, e in result["spans"][-1:])
    if row["method"].startswith("textrank") and not (fits and len(result["scores"]) == len(result["spans"])):
        fresh = _run_textrank(text, settings)
        result.update(scores=list(fresh.scores), spans=[tuple(s) for s in fresh.spans])
        result["indices"] = result["indices"] or list(fresh.indices)
        result["keywords"] = result["keywords"] or list(fresh.keywords)
    elif row["method"] == "abstractive":  # scores past the model's reading limit are 0
        if not fits:
            from engine.summarize.document import parse_document

            result["spans"] = [tuple(s) for s in parse_document(text).spans]
        n = len(result["spans"])
        result.update(indices=[], scores=(result["scores"] + [0.0] * n)[:n])
    elif not row["method"].startswith("textrank") and row["method"] != "abstractive":
        result.update(indices=[], scores=[], spans=[])
    result["shade"] = result_shading(result)
    return result


def export_text(result: dict, fmt: str) -> str:
    """The summary in ``fmt`` (txt, md or json)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(EXPORT_FORMATS)}")
    sentences, keywords = result["sentences"], result["keywords"]
    settings = result["settings"]
    if fmt == "json":
        record = {k: result[k] for k in ("sentences", "indices", "scores", "keywords", "method", "title")}
        record.update(
            spans=[list(s) for s in result["spans"]],
            source_sentences=[result["text"][s:e] for s, e in result["spans"]],
            variant=settings.get("variant"),
            length={"mode": settings.get("length"), "value": settings.get("value")},
            origin=result.get("origin", ""),
        )
        if result.get("extras"):
            record.update(beam=settings.get("beam"), extras=result["extras"])
        return json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        head = f"# {result['title'] or 'Summary'}\n\n"
        body = "\n".join(f"- {s}" for s in sentences)
        keys = f"\n\n**Keywords:** {', '.join(keywords)}" if keywords else ""
        source = f" of {result['origin']}" if result.get("origin") else ""
        how = f"{result['method']} ({settings.get('variant')}), {describe_length(settings)}"
        if result["method"] == "abstractive":
            how = f"abstractive, one sentence written by the model (beam {settings.get('beam')})"
        foot = f"\n\n_Summary{source}: {how}._"
        return head + body + keys + foot + "\n"
    keys = f"\n\nKeywords: {', '.join(keywords)}" if keywords else ""
    return "\n".join(sentences) + keys + "\n"


def write_export(path: str, result: dict, fmt: str) -> str:
    """Write the export to ``path`` whole (a failed write, a full disk, leaves an earlier file as
    it was, not truncated); returns the path."""
    write_whole(Path(path), export_text(result, fmt), private=False)
    return path
