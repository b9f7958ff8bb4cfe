"""Caption metrics through pycocoevalcap: corpus BLEU-1..4 and CIDEr-D against all references.

Captions are tokenised by :func:`engine.caption.vocab.tokenize` (lower-case words, punctuation
dropped) instead of the COCO PTB tokenizer, which needs Java; the scorers themselves are the
library's. METEOR (Java) and SPICE (downloads models) are left out: they cannot run offline
everywhere. BLEU values are in [0, 1]; CIDEr is as pycocoevalcap reports it (~0.5 for a decent
Flickr8k model).
"""

from __future__ import annotations

from engine.caption.vocab import tokenize
from engine.extras import require_caption_metrics


def caption_scores(references: dict[str, list[str]], hypotheses: dict[str, str]) -> dict[str, float]:
    """``references`` name -> reference captions, ``hypotheses`` name -> one caption.

    Returns ``bleu_1 .. bleu_4``, ``cider`` and ``n_images`` over the names present in both.
    """
    require_caption_metrics()  # names the [train] extra (the hint was a bare pip install pycocoevalcap)
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    names = sorted(n for n in hypotheses if references.get(n))
    if not names:
        raise ValueError("no hypothesis has references to score against")
    gts = {n: [" ".join(tokenize(r)) for r in references[n]] for n in names}
    res = {n: [" ".join(tokenize(hypotheses[n])) or "<empty>"] for n in names}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    out = {f"bleu_{i + 1}": float(b) for i, b in enumerate(bleu)}
    out["cider"] = float(cider)
    out["n_images"] = len(names)
    return out
