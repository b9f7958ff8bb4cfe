"""The model folders of one task that the app can offer: the shipped one first, then the user's own
trained runs (``<data folder>/models/run-…``), each as the entry the model pickers show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop.chat_ops import model_entry
from desktop.paths import SHIPPED_MODELS, DataDir, model_roots
from engine.checkpoint import RESTORE, find_model_folders

SUMMARIZER_KIND = "parlance-summarizer"  # engine.summarize.pointer.KIND (not imported: it needs torch)
CAPTIONER_KIND = "captioner"  # engine.caption.model.KIND


def task_model_entries(kind: str, data: DataDir | None) -> list[dict]:
    """Picker entries ({"folder", "name", "card", "source"}) of every ``kind`` model found."""
    return [model_entry(f, SHIPPED_MODELS) for f in find_model_folders(kind, *model_roots(data))]


def entry_for(folder) -> dict:
    """The picker entry of one model folder."""
    return model_entry(folder, SHIPPED_MODELS)


class ModelLoadError(ValueError):
    """A panel's model could not be loaded. ``expected``: a missing or damaged file, said in words
    (the service logs it as one line); otherwise a bug, whose traceback the log keeps."""

    def __init__(self, message: str, expected: bool = True) -> None:
        super().__init__(message)
        self.expected = expected


def _is_shipped(folder: Path) -> bool:
    try:
        return Path(folder).resolve().is_relative_to(SHIPPED_MODELS.resolve())
    except (OSError, RuntimeError):
        return False


def _load_failure(folder: Path, what: str, exc: Exception) -> ModelLoadError:
    """What a person reads when the files in ``folder`` do not load, with what to do.

    It used to read "(CheckpointError: …)" for every failure, a class name and no advice."""
    if not isinstance(exc, (ValueError, OSError)):  # not a file's fault: name it, keep the traceback
        from desktop.jobs import log_hint

        return ModelLoadError(
            f"The {what} in {folder} could not be loaded ({type(exc).__name__}: {exc}). " + log_hint(),
            expected=False,
        )
    if isinstance(exc, OSError) and exc.strerror:  # not "[Errno 13] …"
        why = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    else:
        why = str(exc) or type(exc).__name__
    why = why.rstrip(". ")
    if _is_shipped(folder):
        todo = "" if RESTORE in why else " Restore the model folder or reinstall Parlance."
    else:
        todo = " Pick another model, or train this one again."
    return ModelLoadError(f"The {what} in {folder} could not be loaded: {why}.{todo}")


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
    (``key``, shown as ``label``); ModelLoadError (a ValueError) with ``problem`` (files missing) or
    saying why the files in ``folder`` could not be loaded as the ``what``, and what to do."""
    if problem:
        raise ModelLoadError(problem)

    def load():
        try:
            return build()
        except Exception as exc:
            raise _load_failure(folder, what, exc) from exc

    return load() if cache is None else cache.get(key, load, label)
