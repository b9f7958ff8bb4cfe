"""Subword tokenizer: a thin wrapper around a sentencepiece model with fixed special ids.

Every Parlance tokenizer has the same special ids, so models, losses (``ignore_index=PAD_ID``) and
dialogue code can rely on them without asking the tokenizer:

====  =========  =====================================================
id    piece      meaning
====  =========  =====================================================
0     ``<pad>``  padding (``PAD_ID``)
1     ``<unk>``  unknown (``UNK_ID``; rare, because byte fallback is on)
2     ``<s>``    begin of sequence (``BOS_ID``)
3     ``</s>``   end of sequence (``EOS_ID``)
4     ``<sep>``  turn separator (``SEP_ID``)
5     ``<u1>``   speaker 1 (``SPK1_ID``)
6     ``<u2>``   speaker 2 (``SPK2_ID``)
====  =========  =====================================================

Ids 7..262 are the 256 byte pieces ``<0x00>``..``<0xFF>`` (byte fallback): a character that is not
in the vocabulary (an emoji, another script) is encoded as its UTF-8 bytes and decodes back to
itself instead of becoming ``<unk>``. ``<sep>``, ``<u1>`` and ``<u2>`` are user-defined symbols,
which sentencepiece also matches when they appear literally in input text; dialogue code should
insert them by id and may want to strip them from user text first.

The model file is always called ``tokenizer.model``. Loading reads the bytes once and keeps them,
so ``save`` works even when the original file has gone.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import sentencepiece as spm

from engine.checkpoint import RESTORE as _RESTORE

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "MODEL_FILENAME",
    "PAD_ID",
    "SEP_ID",
    "SPECIAL_PIECES",
    "SPK1_ID",
    "SPK2_ID",
    "UNK_ID",
    "Tokenizer",
]

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3
SEP_ID = 4
SPK1_ID = 5
SPK2_ID = 6
# id -> piece of every special id; a loaded model must agree with this table.
SPECIAL_PIECES = {
    PAD_ID: "<pad>",
    UNK_ID: "<unk>",
    BOS_ID: "<s>",
    EOS_ID: "</s>",
    SEP_ID: "<sep>",
    SPK1_ID: "<u1>",
    SPK2_ID: "<u2>",
}
MODEL_FILENAME = "tokenizer.model"
MODEL_TYPES = ("unigram", "bpe")
_DROPPED_ON_DECODE = frozenset({PAD_ID, BOS_ID, EOS_ID})


def _utf8_safe(text: str) -> str:
    """``text`` with lone surrogates (which cannot be UTF-8 encoded) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _sentences(texts: Iterable[str]) -> Iterator[str]:
    """Non-blank training sentences, UTF-8 safe, one line each."""
    for text in texts:
        text = _utf8_safe(str(text)).strip()
        if text:
            yield text


class Tokenizer:
    """A loaded sentencepiece model with Parlance's fixed special ids."""

    def __init__(self, model_proto: bytes, *, source: str = "<memory>") -> None:
        """Build from the serialized model bytes; ``source`` names them in error messages."""
        # sentencepiece takes 0 bytes for an uninitialised model (absl noise on stderr, then "id 0
        # must be '<pad>'"); its parse error is raw C++ ("INTERNAL: src/…cc(109) [model_proto->…]")
        if isinstance(model_proto, (bytes, bytearray)) and not model_proto:
            raise ValueError(f"{source} is empty or damaged; {_RESTORE}")
        try:
            sp = spm.SentencePieceProcessor(model_proto=model_proto)
        except (RuntimeError, OSError, TypeError) as exc:
            raise ValueError(f"{source} is damaged or not a sentencepiece model; {_RESTORE}") from exc
        for i, piece in SPECIAL_PIECES.items():
            if i >= sp.get_piece_size() or sp.id_to_piece(i) != piece:
                raise ValueError(
                    f"{source} is not a Parlance tokenizer: id {i} must be {piece!r} "
                    "(retrain it with Tokenizer.train)"
                )
        self._sp = sp
        self._proto = bytes(model_proto)
        self.source = source

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        out_dir: str | os.PathLike[str],
        vocab_size: int = 8000,
        model_type: str = "unigram",
        character_coverage: float = 0.9995,
        input_sentence_size: int = 2_000_000,
        seed: int = 0,
        num_threads: int | None = None,
    ) -> Tokenizer:
        """Train on ``texts`` (any iterable of strings, read once) and write ``out_dir/tokenizer.model``.

        Args:
            texts: training sentences or short paragraphs; blank ones are skipped, and
                sentencepiece skips any longer than 4,192 UTF-8 bytes (split long documents
                with ``engine.text.sentences.split_sentences`` first).
            out_dir: folder for ``tokenizer.model`` (created if missing). Nothing else is written,
                here or anywhere else: training streams from the iterator into memory.
            vocab_size: target vocabulary size including the 263 special and byte pieces. It is a
                soft limit (``hard_vocab_limit=False``): a tiny corpus gives a smaller vocabulary.
            model_type: ``"unigram"`` or ``"bpe"``.
            character_coverage: share of characters covered by the vocabulary; the rest go
                through byte fallback.
            input_sentence_size: at most this many sentences are sampled from ``texts``.
            seed: sentencepiece's random seed (set process-wide, as sentencepiece only offers that).
            num_threads: training threads; ``None`` uses every CPU.

        Raises ``ValueError`` for a bad argument or when sentencepiece rejects the corpus.
        """
        if model_type not in MODEL_TYPES:
            raise ValueError(f"unknown model_type {model_type!r}; known: {', '.join(MODEL_TYPES)}")
        minimum = len(SPECIAL_PIECES) + 256 + 1
        if vocab_size < minimum:
            raise ValueError(
                f"vocab_size must be at least {minimum} (special + byte pieces), got {vocab_size}"
            )
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        writer = io.BytesIO()
        spm.set_random_generator_seed(seed)
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=_sentences(texts),
                model_writer=writer,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                input_sentence_size=input_sentence_size,
                shuffle_input_sentence=True,
                pad_id=PAD_ID,
                unk_id=UNK_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                user_defined_symbols=[SPECIAL_PIECES[i] for i in (SEP_ID, SPK1_ID, SPK2_ID)],
                byte_fallback=True,
                split_digits=True,
                hard_vocab_limit=False,
                num_threads=num_threads or os.cpu_count() or 1,
                minloglevel=2,
            )
        except RuntimeError as exc:
            raise ValueError(f"sentencepiece training failed: {exc}") from exc
        if not writer.getvalue():
            raise ValueError("sentencepiece training produced no model (was the corpus empty?)")
        path = out / MODEL_FILENAME
        tokenizer = cls(writer.getvalue(), source=str(path))
        path.write_bytes(tokenizer._proto)
        return tokenizer

    @classmethod
    def load(cls, dir_or_file: str | os.PathLike[str]) -> Tokenizer:
        """Load ``tokenizer.model`` from a folder, or a model file given directly.

        Raises ``ValueError`` naming the file when it is missing, unreadable or not a Parlance
        sentencepiece model.
        """
        path = Path(dir_or_file)
        if path.is_dir():
            path = path / MODEL_FILENAME
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read tokenizer model {path}: {exc.strerror or exc}") from exc
        return cls(data, source=str(path))

    def save(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write ``out_dir/tokenizer.model`` (creating the folder) and return its path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / MODEL_FILENAME
        path.write_bytes(self._proto)
        return path

    # -- vocabulary -----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials and byte pieces included."""
        return self._sp.get_piece_size()

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, source={self.source!r})"

    def _check_id(self, i: int) -> int:
        i = int(i)
        if not 0 <= i < self.vocab_size:
            raise ValueError(f"token id {i} out of range for a vocabulary of {self.vocab_size}")
        return i

    def id_to_piece(self, i: int) -> str:
        """The piece of id ``i`` (``ValueError`` when out of range)."""
        return self._sp.id_to_piece(self._check_id(i))

    def piece_to_id(self, piece: str) -> int:
        """The id of ``piece``; ``UNK_ID`` when the piece is not in the vocabulary."""
        return self._sp.piece_to_id(piece)

    def is_byte(self, i: int) -> bool:
        """True for a byte-fallback piece (<0x41>)."""
        return bool(self._sp.is_byte(self._check_id(i)))

    def never_written(self, keep_bytes: bool = False) -> list[int]:
        """Ids a generator may not write: every special piece but EOS (which ends the text), and the
        raw bytes unless ``keep_bytes`` (they spell characters the vocabulary lacks)."""
        return [
            i
            for i in range(len(self))
            if i != EOS_ID and self.is_special(i) and not (keep_bytes and self.is_byte(i))
        ]

    def is_special(self, i: int) -> bool:
        """True for control, unknown, user-defined (<sep>, <u1>, <u2>), byte and unused pieces."""
        i = self._check_id(i)
        sp = self._sp
        return i in SPECIAL_PIECES or sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i) or sp.is_unused(i)

    # -- text <-> ids ---------------------------------------------------------------------------

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of ``text``; any string works (control characters, emoji, lone surrogates)."""
        return list(self._sp.encode(_utf8_safe(text), add_bos=add_bos, add_eos=add_eos))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``, PAD/BOS/EOS dropped. Accepts any sequence of ints (numpy, tensor.tolist())."""
        kept = [i for i in (self._check_id(i) for i in ids) if i not in _DROPPED_ON_DECODE]
        return self._sp.decode(kept)

    def pieces(self, text: str) -> list[str]:
        """The pieces of ``text``, for display (``'▁'`` marks a preceding space)."""
        return list(self._sp.encode(_utf8_safe(text), out_type=str))
