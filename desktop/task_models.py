"""The model folders of one task that the app can offer: the shipped one first, then the user's own
trained runs (``<data folder>/models/run-…``), each as the entry the model pickers show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop.chat_ops import model_entry
from desktop.paths import SHIPPED_MODELS, DataDir, model_roots
from engine.checkpoint import find_model_folders

SUMMARIZER_KIND = "parlance-summarizer"  # engine.summarize.pointer.KIND (not imported: it needs torch)
CAPTIONER_KIND = "captioner"  # engine.caption.model.KIND


def task_model_entries(kind: str, data: DataDir | None) -> list[dict]:
    """Picker entries ({"folder", "name", "card", "source"}) of every ``kind`` model found."""
    return [model_entry(f, SHIPPED_MODELS) for f in find_model_folders(kind, *model_roots(data))]


def entry_for(folder) -> dict:
    """The picker entry of one model folder."""
    return model_entry(folder, SHIPPED_MODELS)


def load_model_once(
    folder: Path,
    what: str,
    problem: str | None,
    build: Callable[[], object],
    key: str,
    label: str,
    cache=None,
):
    """A panel's model, built by ``build()`` once per session through the service's model ``cache``
    (``key``, shown as ``label``); ValueError with ``problem`` (files missing) or saying why the
    files in ``folder`` could not be loaded as the ``what``."""
    if problem:
        raise ValueError(problem)

    def load():
        try:
            return build()
        except Exception as exc:
            raise ValueError(
                f"The {what} in {folder} could not be loaded ({type(exc).__name__}: {exc})."
            ) from exc

    return load() if cache is None else cache.get(key, load, label)
