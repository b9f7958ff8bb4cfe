"""Optional packages of the ``[train]`` extra (pyproject.toml), checked before any work starts.

A run that needed one used to find out late: captioner training encoded every image and trained
before its first validation said pycocoevalcap was missing. The hint is the README's install form;
the old hint installed the extra of the PyPI project called parlance, an unrelated one.
"""

from __future__ import annotations

import importlib.util

TRAIN_EXTRAS = "pip install -e '.[train]' in the Parlance folder"
BENCH_EXTRAS = "pip install -e '.[bench]' in the Parlance folder"
CAPTION_METRICS = "pycocoevalcap"  # captioner validation (BLEU / CIDEr) and `eval caption`
CORPUS_PACKAGES = {"chitchat": "chitchat_dataset", "chatterbot": "chatterbot_corpus"}
# module -> pip package name
PACKAGES = {
    "chitchat_dataset": "chitchat-dataset",
    "chatterbot_corpus": "chatterbot-corpus",
    "rouge_score": "rouge-score",
}


class MissingExtra(ValueError):
    """A package of the training extras is not installed (a ValueError: said in words, no traceback)."""


def installed(module: str) -> bool:
    """Whether top-level ``module`` can be imported (looked up, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_words(what: str, module: str) -> str:
    package = PACKAGES.get(module, module)
    return f"{what} needs the training extras: {TRAIN_EXTRAS} (the {package} package is missing)"


def require(module: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming ``what`` when ``module`` is not installed."""
    if not installed(module):
        raise MissingExtra(missing_words(what, module))


def require_bench(module: str, what: str) -> None:
    """Raise :class:`MissingExtra` when ``module`` of the ``[bench]`` extra is not installed."""
    if not installed(module):
        package = PACKAGES.get(module, module)
        raise MissingExtra(
            f"{what} needs the benchmark extras: {BENCH_EXTRAS} (the {package} package is missing)"
        )


def require_caption_metrics() -> None:
    require(CAPTION_METRICS, "scoring captions (BLEU / CIDEr, used by captioner training)")


def require_corpus(name: str) -> None:
    """The built-in dialogue corpus ``name`` ("chitchat" | "chatterbot") is installed."""
    if name in CORPUS_PACKAGES:
        require(CORPUS_PACKAGES[name], f"the {name} corpus")
