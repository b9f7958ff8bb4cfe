"""What every summarizer returns, and the length controls shared by all of them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Summary:
    """A summary of one text, with everything needed to check it against the source.

    ``source_sentences``, ``spans`` and ``scores`` have one entry per sentence of the source (the
    title, when one was detected, is not a sentence of the source); ``indices`` are positions in
    ``source_sentences`` of the chosen sentences, ascending, and ``sentences`` their texts in that
    order. ``spans`` are ``(start, end)`` character offsets into the text that was summarised
    (empty when the caller passed ready-split sentences without offsets).
    """

    sentences: list[str]  # the summary, one sentence per entry, in source order
    indices: list[int]  # positions of the chosen sentences in source_sentences, ascending
    scores: list[float]  # one importance score per source sentence (higher = more central)
    keywords: list[str]  # key words and phrases, best first
    method: str  # which summarizer (and variant) produced it
    source_sentences: list[str]  # the source split into sentences, whitespace collapsed
    spans: list[tuple[int, int]]  # (start, end) offsets of each source sentence in the text
    title: str = ""  # the detected title (first line), "" when there was none
    extras: dict = field(default_factory=dict)  # method-specific details (e.g. attention), JSON-able

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of every field."""
        return {
            "sentences": list(self.sentences),
            "indices": list(self.indices),
            "scores": [float(s) for s in self.scores],
            "keywords": list(self.keywords),
            "method": self.method,
            "source_sentences": list(self.source_sentences),
            "spans": [list(s) for s in self.spans],
            "title": self.title,
            "extras": dict(self.extras),
        }


@dataclass(frozen=True)
class Budget:
    """How long a summary may be: exactly one of the three limits is set.

    ``sentences``: that many sentences. ``ratio``: that fraction of the source's sentences, rounded (at
    least one). ``words``: as many sentences as fit in that many words; exceeded only when no single
    sentence fits, in which case the best sentence alone is returned.
    """

    sentences: int | None = None  # number of sentences
    ratio: float | None = None  # fraction of the source's sentences, in (0, 1]
    words: int | None = None  # word budget

    def __post_init__(self):
        given = [v is not None for v in (self.sentences, self.ratio, self.words)]
        if sum(given) != 1:
            raise ValueError("give exactly one length limit: sentences, ratio or words")
        if self.sentences is not None and self.sentences < 1:
            raise ValueError(f"sentences must be >= 1, got {self.sentences}")
        if self.ratio is not None and not 0.0 < self.ratio <= 1.0:
            raise ValueError(f"ratio must be in (0, 1], got {self.ratio}")
        if self.words is not None and self.words < 1:
            raise ValueError(f"words must be >= 1, got {self.words}")

    @classmethod
    def of(cls, sentences: int | None = None, ratio: float | None = None, words: int | None = None) -> Budget:
        """The budget from optional CLI-style arguments; three sentences when none is given."""
        if sentences is None and ratio is None and words is None:
            sentences = 3
        return cls(sentences=sentences, ratio=ratio, words=words)

    def take(self, order: list[int], word_counts: list[int]) -> list[int]:
        """Pick from ``order`` (sentence indices, best first) within the budget; returns them sorted."""
        n = len(word_counts)
        if n == 0 or not order:
            return []
        if self.words is None:
            k = self.sentences if self.sentences is not None else max(1, math.floor(self.ratio * n + 0.5))
            return sorted(order[:k])
        chosen, used = [], 0
        for i in order:
            if used + word_counts[i] <= self.words:
                chosen.append(i)
                used += word_counts[i]
        return sorted(chosen) if chosen else [order[0]]
