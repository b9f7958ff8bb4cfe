"""The Summarize panel's abstractive jobs: what runs on the engine thread (no Qt, no widgets here).

The pointer-generator (engine/summarize/abstractive.py) writes one headline-style sentence. These
jobs load it once per session through the service's model ``cache``, then hand it to the same
summary path as TextRank (``desktop.summarize_ops``), so the result dict, the history row and the
bad-input messages are the same; the result adds ``extras``: the word attention map (summary
words × source words), the copy share per summary word, the other beams and the log-probability.

A missing model is a message for a person, never a crash: ``model_problem`` is a cheap check the
panel uses to explain why the method cannot run, and the jobs raise the same message.
"""

from __future__ import annotations

from pathlib import Path

from desktop import summarize_ops as ops
from engine.paths import default_model

MODEL_FOLDER = default_model("summarizer")
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.model")
METHOD = "abstractive"
ATTENDED_SHARE = 0.05  # a source word is "attended" when some summary word gives it this share of the max
ATTENDED_PAD = 3  # words kept either side of the attended window
NO_WORDS = "Nothing to summarize: the text has no words, only symbols or spaces."


def model_problem(folder: str | Path = MODEL_FOLDER) -> str | None:
    """None when ``folder`` looks like a summarizer model folder, else what is wrong (no torch)."""
    folder = Path(folder)
    missing = [n for n in MODEL_FILES if not (folder / n).is_file()]
    if not missing:
        return None
    where = f"{folder} does not exist" if not folder.is_dir() else f"{folder} has no {', '.join(missing)}"
    return (
        f"The abstractive model is not installed ({where}). Train one with "
        "`python -m engine train summarizer`, or use TextRank."
    )


def load_abstractor(folder: str | Path, device: str = "cpu", cache=None):
    """The summarizer in ``folder``, loaded once per session through the service's model ``cache``."""
    from desktop.task_models import load_model_once

    def build():
        from engine.summarize.abstractive import Abstractor

        return Abstractor.load(folder, device)

    folder = Path(folder)
    key = f"summarizer:{folder}:{device}"
    return load_model_once(
        folder, "abstractive model", model_problem(folder), build, key, "Summarizer", cache
    )


def runner(abstractor):
    """A ``runner(text, settings, cancel) -> Summary`` for ``desktop.summarize_ops``."""
    from engine.summarize.abstractive import summarize_text

    def run(text: str, settings: dict, cancel=None):
        keywords = int(settings.get("keywords", 0))
        try:
            return summarize_text(abstractor, text, ops.beam_of(settings), keywords, cancel=cancel)
        except ValueError as exc:
            if "no words" in str(exc):
                raise ValueError(NO_WORDS) from None
            raise

    return run


def _prepare(model, settings: dict, progress, device, cache):
    folder = Path(model) if model else MODEL_FOLDER
    problem = model_problem(folder)
    if problem:  # before anything is read: the person learns at once why nothing happens
        raise ValueError(problem)
    if progress and (cache is None or f"summarizer:{folder}:{device or 'cpu'}" not in cache):
        progress({"stage": "loading"})
    return runner(load_abstractor(folder, device or "cpu", cache)), {**settings, "method": METHOD}


def summarize_text(
    text: str,
    settings: dict,
    origin: str = "",
    model: str = "",
    *,
    progress=None,
    cancel=None,
    store=None,
    device=None,
    cache=None,
) -> dict:
    """Summarise pasted ``text`` with the model in ``model`` (default: the shipped one) and save it."""
    if not text.strip():
        raise ValueError("Nothing to summarize: the text is empty. Paste a text or open a file.")
    run, settings = _prepare(model, settings, progress, device, cache)
    jobs = {"progress": progress, "cancel": cancel, "store": store}
    return ops.summarize_text(text, settings, origin, runner=run, **jobs)


def summarize_file(
    path: str,
    settings: dict,
    model: str = "",
    *,
    progress=None,
    cancel=None,
    store=None,
    device=None,
    cache=None,
) -> dict:
    """Read ``path`` (txt, md, html), summarise it with the model in ``model`` and save it."""
    run, settings = _prepare(model, settings, progress, device, cache)
    return ops.summarize_file(path, settings, progress=progress, cancel=cancel, store=store, runner=run)


# ------------------------------------------------------------------------------- for the view
def attended_window(values: list[list[float]], share: float = ATTENDED_SHARE, pad: int = ATTENDED_PAD):
    """(first, end) columns of the source words that got attention: from the first to the last column
    whose largest weight is at least ``share`` of the map's largest, ``pad`` words either side."""
    n = max((len(row) for row in values), default=0)
    if n == 0:
        return 0, 0
    top = [max((row[j] for row in values if j < len(row)), default=0.0) for j in range(n)]
    peak = max(top)
    if peak <= 0:
        return 0, n
    hot = [j for j, v in enumerate(top) if v >= share * peak]
    return max(0, hot[0] - pad), min(n, hot[-1] + 1 + pad)


def stored_extras(extras: dict) -> dict:
    """``extras`` for the history: weights rounded to 4 significant digits (the map looks the same)."""
    attention = extras.get("attention") or {}
    return {
        **extras,
        "attention": {
            "rows": list(attention.get("rows") or []),
            "cols": list(attention.get("cols") or []),
            "values": [[float(f"{v:.4g}") for v in row] for row in attention.get("values") or []],
        },
        "copy": [float(f"{c:.4g}") for c in extras.get("copy") or []],
    }
