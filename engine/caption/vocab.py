"""Word vocabulary for captions (JSON on disk, never pickle).

Why words and not sentencepiece: Flickr8k/COCO captions are short and use a small closed
vocabulary (~2.5k words with at least 5 occurrences cover >98% of tokens), BLEU and CIDEr are
computed on words, and the panel shows one attention map per *word* -- sub-word pieces would split
a word's map in two. Words seen fewer than ``min_count`` times map to ``<unk>`` (the standard
Flickr8k recipe of Karpathy's NeuralTalk and Show-Attend-Tell implementations).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

PAD, BOS, EOS, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0, 1, 2, 3
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case words without punctuation: ``"A dog's ball."`` -> ``["a", "dog's", "ball"]``."""
    return _WORD.findall(text.lower())


class Vocab:
    """Maps words to ids and back; ids 0..3 are ``<pad> <start> <end> <unk>``."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, words: Iterable[str]):
        self.itos: list[str] = list(SPECIALS) + [w for w in words if w not in SPECIALS]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary has duplicate words")

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 5, max_size: int | None = None) -> Vocab:
        """Words occurring at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for c in captions for w in tokenize(c))
        ranked = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
        return cls(ranked[:max_size] if max_size else ranked)

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        """``<start> w1 .. wn <end>`` ids; ``max_len`` caps the words (not counting start/end)."""
        words = tokenize(text)[:max_len] if max_len else tokenize(text)
        return [self.bos_id] + [self.stoi.get(w, self.unk_id) for w in words] + [self.eos_id]

    def decode_ids(self, ids: Iterable[int]) -> list[str]:
        """Ids -> words, stopping at ``<end>``, skipping ``<start>``/``<pad>``."""
        out: list[str] = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.decode_ids(ids))

    def to_json(self) -> dict:
        return {"kind": "word_vocab", "specials": list(SPECIALS), "words": self.itos}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        if (
            not isinstance(data, dict)
            or data.get("kind") != "word_vocab"
            or not isinstance(data.get("words"), list)
        ):
            raise ValueError("not a word vocabulary file (expected kind 'word_vocab' and a 'words' list)")
        words = data["words"]
        if list(words[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"vocabulary must start with {list(SPECIALS)}")
        return cls(words[len(SPECIALS) :])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"vocabulary file {path} is not valid JSON ({exc})") from None
        return cls.from_json(data)
