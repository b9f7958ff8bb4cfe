"""Keywords by TextRank (Mihalcea & Tarau 2004, section 3) merged into key phrases.

Candidate words are the words that are not stopwords (a stand-in for the paper's noun/adjective
filter), contain a letter and are not bare numbers; inflections share one node (``light_stem``).
Two candidates are linked when they occur within ``window`` words of each other in the same
sentence, weighted by how often they do. PageRank ranks the nodes; the top third become
keywords, and maximal runs of adjacent keywords in the text (with only spaces between them: a
comma, a full stop or a dash ends a run) become key phrases, scored by the sum of their words'
scores. Each phrase is shown in its most frequent spelling in the text.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import scipy.sparse as sp

from engine.summarize.pagerank import pagerank
from engine.summarize.words import KEYWORD_STOPWORDS, find_words, light_stem

PHRASE_EXP = 0.5  # phrase score = sum of word scores / len ** PHRASE_EXP: between sum and mean


def _candidate(word: str) -> str | None:
    """The node key of a candidate word, or None when the word is not a candidate."""
    low = word.lower()
    if low in KEYWORD_STOPWORDS or len(low) < 2 or not any(c.isalpha() for c in low):
        return None
    if low.replace("\u2019", "'").endswith("'s") and low[:-2] in KEYWORD_STOPWORDS:
        return None
    return light_stem(low)


def extract_keywords(
    sentences: list[str], k: int = 10, window: int = 3, max_phrase_words: int = 3
) -> list[str]:
    """Up to ``k`` key phrases of the text given as ``sentences``, best first."""
    if k < 1:
        return []
    # tokens per sentence: (key or None, surface form); each distinct word is classified once
    keys: dict[str, str | None] = {}
    docs, breaks = [], []  # breaks: indices of tokens with more than spaces before them
    for sentence in sentences:
        doc, cut, end = [], set(), 0
        for m in find_words(sentence):
            word = m.group()
            if word not in keys:
                keys[word] = _candidate(word)
            if sentence[end : m.start()].strip():
                cut.add(len(doc))
            doc.append((keys[word], word))
            end = m.end()
        docs.append(doc)
        breaks.append(cut)
    vocab: dict[str, int] = {}
    for doc in docs:
        for key, _ in doc:
            if key is not None:
                vocab.setdefault(key, len(vocab))
    if not vocab:
        return []

    edges: Counter = Counter()
    for doc in docs:
        for i, (a, _) in enumerate(doc):
            if a is None:
                continue
            for b, _ in doc[i + 1 : i + 1 + window]:
                if b is not None and b != a:
                    ia, ib = vocab[a], vocab[b]
                    edges[(min(ia, ib), max(ia, ib))] += 1
    n = len(vocab)
    if edges:
        ii, jj = zip(*edges.keys())
        g = sp.coo_matrix((list(edges.values()), (ii, jj)), shape=(n, n))
        g = (g + g.T).tocsr()  # undirected
    else:
        g = sp.csr_matrix((n, n))
    scores = pagerank(g)  # (n,)

    top = max(k, int(np.ceil(n / 3)))  # the top third (Mihalcea & Tarau), at least k words
    best = set(np.argsort(-scores, kind="stable")[:top].tolist())
    keep = {key for key, idx in vocab.items() if idx in best}

    phrase_score: dict[tuple[str, ...], float] = {}
    spellings: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for doc, cut in zip(docs, breaks):
        run: list[tuple[str, str]] = []
        for i, (key, surface) in enumerate([*doc, (None, "")]):
            if key is not None and key in keep and len(run) < max_phrase_words and i not in cut:
                run.append((key, surface))
                continue
            if run:
                keys = tuple(key_ for key_, _ in run)
                phrase_score[keys] = sum(float(scores[vocab[x]]) for x in keys) / len(keys) ** PHRASE_EXP
                spellings[keys][" ".join(s for _, s in run)] += 1
            run = [(key, surface)] if key is not None and key in keep else []

    ranked = sorted(phrase_score, key=lambda p: (-phrase_score[p], p))
    out, covered = [], set()
    for keys in ranked:
        if 2 * len(covered.intersection(keys)) >= len(keys) or len(set(keys)) < len(keys):
            continue  # half its words are already in better phrases, or it repeats a word
        covered.update(keys)
        out.append(_spelling(spellings[keys]))
        if len(out) == k:
            break
    return out


def _spelling(forms: Counter) -> str:
    """The most frequent spelling, ignoring case; then its most frequent casing, preferring one that
    is not merely capitalised at a sentence start."""
    by_lower: Counter = Counter()
    for form, count in forms.items():
        by_lower[form.lower()] += count
    lower = min(by_lower, key=lambda f: (-by_lower[f], f))
    casings = {f: c for f, c in forms.items() if f.lower() == lower}
    best = max(casings.values())
    tied = sorted(f for f, c in casings.items() if c == best)
    return next((f for f in tied if not f[:1].isupper() or f.isupper() or f != f.capitalize()), tied[0])
