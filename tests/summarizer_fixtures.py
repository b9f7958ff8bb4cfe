"""A tiny, really trained abstractive summarizer (shared by engine and desktop tests).

The task is learnable in seconds and needs the copy mechanism: the "headline" of each source is
its first three words, and the sources are sentences of the sample articles shipped in resources.
"""

from __future__ import annotations

import re
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
TINY_MODEL = {"emb_dim": 24, "enc_hidden": 24, "dec_hidden": 32, "attn_dim": 24, "dropout": 0.0}


def tiny_pairs(n: int = 40) -> list[tuple[str, str, str]]:
    """(id, source, target) pairs: three consecutive sample sentences -> the first three words."""
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("article_*.txt")))
    sentences = [s.strip() + "." for s in re.split(r"[.!?]\s+", text) if len(s.split()) >= 6]
    pairs = []
    for i in range(min(n, len(sentences) - 2)):
        source = " ".join(sentences[i : i + 3])
        pairs.append((f"tiny-{i}", source, " ".join(source.split()[:3])))
    return pairs


def build_tiny_summarizer(folder: Path, epochs: int = 60, **model_overrides):
    """Train into ``folder``; returns the trainer's result (its best validation ROUGE-L)."""
    from engine.summarize.train import SummarizerTrainConfig, train_summarizer

    cfg = SummarizerTrainConfig(
        epochs=epochs,
        batch_size=8,
        lr=1e-2,
        patience=0,
        vocab_size=400,
        word_vectors=False,
        seed=0,
        model={**TINY_MODEL, "max_source": 40, "max_target": 16, **model_overrides},
    )
    return train_summarizer(cfg, folder, pairs=tiny_pairs(), log=lambda s: None)
