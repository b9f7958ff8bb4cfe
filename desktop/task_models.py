"""The model folders of one task that the app can offer: the shipped one first, then the user's own
trained runs (``<data folder>/models/run-…``), each as the entry the model pickers show."""

from __future__ import annotations

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
