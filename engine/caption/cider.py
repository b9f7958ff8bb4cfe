"""CIDEr-D with document frequencies fixed in advance, fast enough to be a training reward.

pycocoevalcap's ``Cider`` recomputes n-gram document frequencies from the references it is given,
so scoring a batch of 16 images would weigh n-grams by how common they are *in that batch*.
Self-critical training (engine.caption.scst) needs the frequencies of the whole training corpus and
thousands of scores per minute, so this module keeps the references' tf-idf vectors and scores
candidates against them. The formula is pycocoevalcap's CIDEr-D (Vedantam et al. 2015): n = 1..4,
tf-idf weights ``tf * (log N - log max(1, df))``, clipped candidate weights, a Gaussian length
penalty (sigma 6), the mean over references and n, times 10. With frequencies computed from the
same references it equals pycocoevalcap's per-image scores (tested).

Captions are word lists (:func:`engine.caption.vocab.tokenize`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

N_MAX = 4
SIGMA = 6.0


def ngrams(words: Sequence[str], n_max: int = N_MAX) -> Counter:
    """All n-grams of ``words`` for n = 1..n_max, as tuples, with their counts."""
    counts: Counter = Counter()
    for n in range(1, n_max + 1):
        for i in range(len(words) - n + 1):
            counts[tuple(words[i : i + n])] += 1
    return counts


class CiderD:
    """Scores candidates against the references of named images, with corpus frequencies.

    ``references``: image name -> its reference captions (word lists). ``df_from``: the image ->
    references mapping whose n-gram document frequencies weigh the n-grams (default: the same
    references); each image counts once per n-gram however many of its captions hold it.
    ``end_token``: appended to every reference and candidate, so that n-grams ending a caption
    count (a caption cut off mid-phrase, "a man in a blue and", then loses the reward of the
    reference endings; the remedy for self-critical training's bad endings).
    """

    def __init__(
        self,
        references: dict[str, list[list[str]]],
        df_from: dict[str, list[list[str]]] | None = None,
        sigma: float = SIGMA,
        end_token: str | None = None,
    ):
        self.end = [end_token] if end_token else []
        references = {n: [list(r) + self.end for r in refs] for n, refs in references.items()}
        source = (
            references
            if df_from is None
            else {n: [list(r) + self.end for r in refs] for n, refs in df_from.items()}
        )
        if not source:
            raise ValueError("CIDEr-D needs at least one image with references")
        self.df: Counter = Counter()
        for refs in source.values():
            self.df.update({g for r in refs for g in ngrams(r)})
        self.log_n = math.log(float(len(source)))
        self.sigma = sigma
        self._refs = {name: [self._vector(r) for r in refs] for name, refs in references.items()}

    def _vector(self, words: Sequence[str]):
        """-> (per-n dict n-gram -> tf-idf weight, per-n norms, length)."""
        vec: list[dict] = [{} for _ in range(N_MAX)]
        norm = [0.0] * N_MAX
        for gram, tf in ngrams(words).items():
            n = len(gram) - 1
            w = float(tf) * (self.log_n - math.log(max(1.0, float(self.df.get(gram, 0.0)))))
            vec[n][gram] = w
            norm[n] += w * w
        # pycocoevalcap measures length in bigrams (words - 1); only differences matter, kept as is
        return vec, [math.sqrt(x) for x in norm], max(len(words) - 1, 0)

    def _sim(self, hyp, ref) -> float:
        (vh, nh, lh), (vr, nr, lr) = hyp, ref
        total = 0.0
        for n in range(N_MAX):
            val = 0.0
            refs_n = vr[n]
            for gram, w in vh[n].items():
                r = refs_n.get(gram)
                if r is not None:
                    val += min(w, r) * r
            if nh[n] != 0 and nr[n] != 0:
                val /= nh[n] * nr[n]
            total += val
        penalty = math.exp(-((lh - lr) ** 2) / (2 * self.sigma**2))
        return total * penalty

    def score(self, name: str, words: Sequence[str]) -> float:
        """CIDEr-D of one candidate for image ``name``."""
        refs = self._refs.get(name)
        if not refs:
            raise KeyError(f"no references for {name!r}")
        hyp = self._vector(list(words) + self.end)
        return sum(self._sim(hyp, r) for r in refs) / N_MAX / len(refs) * 10.0

    def scores(self, names: Iterable[str], candidates: Iterable[Sequence[str]]) -> list[float]:
        """CIDEr-D of each candidate against its image's references (names and candidates paired)."""
        return [self.score(n, c) for n, c in zip(names, candidates)]
