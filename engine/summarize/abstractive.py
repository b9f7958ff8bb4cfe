"""The abstractive summarizer: a headline-style summary written by the pointer-generator.

``Abstractor.load(folder)`` reads a model folder (``config.json``, ``model.safetensors``,
``tokenizer.model``); ``abstractor.summarize(text)`` returns an :class:`AbstractSummary`: the
generated sentence, its pieces, the source pieces it read, the attention of every generated
piece over them (for the heat map), the copy gate p_gen per piece and the log-probability.

What it reads: the article body (the detected title line is skipped, as the model was trained to
write it), whitespace collapsed, cut to the model's ``max_source`` pieces — the lead, where news
puts what matters. ``source_words`` and ``word_attention`` give the same map on whole words.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.decoding import DecodeOptions, length_penalty

WORD_PIECE_START = "\u2581"


def default_options(beam: int = 4) -> DecodeOptions:
    """Beam search with a mild length penalty and trigram blocking (coverage handles the rest)."""
    return DecodeOptions(
        method="beam" if beam > 1 else "greedy",
        beam_size=max(1, beam),
        max_len=24,
        min_len=3,
        length_penalty=1.0,
        block_ngram=3,
        repetition_penalty=1.0,
    )


@dataclass
class AbstractSummary:
    text: str  # the generated summary
    pieces: list[str]  # generated sentencepiece pieces
    source_pieces: list[str]  # the pieces of the source that were read
    attention: list[list[float]]  # one row per generated piece, one column per source piece
    p_gen: list[float]  # per generated piece: 1 = written from the vocabulary, 0 = copied
    log_prob: float  # sum of the pieces' log-probabilities
    score: float = 0.0  # what the beams are ranked by: log_prob / decoding.length_penalty
    alternatives: list[dict] = field(default_factory=list)  # other beams: text, log_prob, score
    source_text: str = ""  # the source text the pieces came from
    piece_sentence: list[int] = field(default_factory=list)  # source sentence of each source piece
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def sentence_attention(self, n_sentences: int) -> list[float]:
        """How much of the summary's attention fell on each source sentence (sums to 1 over the
        sentences that were read; 0 for sentences past the model's reading limit)."""
        mass = [0.0] * n_sentences
        for row in self.attention:
            for j, a in enumerate(row[: len(self.piece_sentence)]):
                k = self.piece_sentence[j]
                if 0 <= k < n_sentences:
                    mass[k] += a
        total = sum(mass)
        return [m / total for m in mass] if total > 0 else mass

    def word_attention(self) -> tuple[list[str], list[str], list[list[float]]]:
        """The attention on words: (summary words, source words, rows summed over each summary
        word's pieces and columns summed over each source word's pieces)."""
        src_words, src_of = _group(self.source_pieces)
        out_words, out_of = _group(self.pieces)
        rows = [[0.0] * len(src_words) for _ in out_words]
        for i, row in enumerate(self.attention):
            if i >= len(out_of):
                break
            for j, a in enumerate(row[: len(src_of)]):
                rows[out_of[i]][src_of[j]] += a
        return out_words, src_words, rows


def _group(pieces: list[str]) -> tuple[list[str], list[int]]:
    """Merge sentencepiece pieces into words: (words, word index of each piece)."""
    words: list[str] = []
    index: list[int] = []
    for p in pieces:
        if p.startswith(WORD_PIECE_START) or not words:
            words.append(p.lstrip(WORD_PIECE_START))
        else:
            words[-1] += p
        index.append(len(words) - 1)
    return words, index


def source_of(text: str) -> str:
    """The part of ``text`` the model reads: the body after a detected title, whitespace collapsed."""
    from engine.summarize.document import parse_document

    doc = parse_document(text)
    body = " ".join(doc.sentences) if doc.sentences else text
    return re.sub(r"\s+", " ", body).strip()


# config.json sizes a summarizer can have, (lowest, highest or None); ids 0..6 are special pieces
SIZES = {
    "vocab_size": (8, None),
    "emb_dim": (1, None),
    "enc_hidden": (1, None),
    "dec_hidden": (1, None),
    "attn_dim": (1, None),
    "max_source": (2, None),  # one piece may be the task piece
    "max_target": (1, None),
}


class Abstractor:
    def __init__(self, model, tokenizer, device: str = "cpu", folder: str | Path | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        self.folder = Path(folder) if folder else None

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None) -> Abstractor:
        import torch

        from engine import checkpoint
        from engine.checkpoint import CONFIG_FILE, CheckpointError
        from engine.device import choose_device
        from engine.summarize.pointer import KIND, SCHEMA_VERSION, PointerConfig, PointerGenerator
        from engine.text.tokenizer import MODEL_FILENAME, Tokenizer

        folder = Path(folder)
        meta = checkpoint.read_config(folder, kind=KIND, max_schema=SCHEMA_VERSION)
        config_path = folder / CONFIG_FILE
        cfg = checkpoint.config_from_dict(PointerConfig, meta["config"], config_path)
        checkpoint.check_sizes(cfg, SIZES, config_path)
        tok_path = checkpoint.model_file(folder, meta["extra"], "tokenizer", MODEL_FILENAME)
        tokenizer = Tokenizer.load(tok_path)
        if tokenizer.vocab_size != cfg.vocab_size:
            raise CheckpointError(
                f"{tok_path}: the tokenizer has {tokenizer.vocab_size} pieces, the model {cfg.vocab_size} "
                f"(vocab_size in {config_path}): the two files come from different models"
            )
        device = choose_device(device).name
        checkpoint.check_shapes(folder, lambda: PointerGenerator(cfg))
        model = PointerGenerator(cfg)
        state = {k: v.float() for k, v in checkpoint.load_state(folder).items()}
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:  # check_shapes compared names and shapes: not expected here
            raise CheckpointError(
                f"{folder / checkpoint.WEIGHTS_FILE}: weights do not match the config "
                f"({str(exc).splitlines()[0][:200]})"
            ) from None
        model.to(device)
        torch.set_grad_enabled(True)  # load must not change the caller's grad mode
        return cls(model, tokenizer, device, folder)

    def source_ids(self, text: str, doc=None) -> tuple[list[int], list[int]]:
        """The pieces the model reads (the body's first ``max_source``) and the sentence of each.
        Sentences are encoded one by one: sentencepiece never joins pieces across spaces, so this
        equals encoding the joined body, as in training. ``doc``: ``parse_document(text)`` when the
        caller has it already."""
        from engine.summarize.document import parse_document
        from engine.text.tokenizer import SPK1_ID

        doc = doc or parse_document(text)
        sentences = doc.sentences or [re.sub(r"\s+", " ", text).strip()]
        ids: list[int] = []
        where: list[int] = []
        limit = self.model.cfg.max_source
        if self.model.cfg.task_prefix:  # the "write a headline" task piece
            ids, where = [SPK1_ID], [-1]
        for k, sentence in enumerate(sentences):
            piece_ids = self.tokenizer.encode(sentence)[: limit - len(ids)]
            ids += piece_ids
            where += [k] * len(piece_ids)
            if len(ids) >= limit:
                break
        return ids, where

    def _never_written(self):
        """Ids the summary may not contain: the task piece (``<u1>``, which the copy mechanism could
        copy from the source), the other control pieces and the raw bytes (one byte of a character
        the vocabulary lacks decodes to '\ufffd'); EOS excepted."""
        import torch

        if getattr(self, "_banned", None) is None:
            self._banned = torch.tensor(self.tokenizer.never_written(), dtype=torch.long, device=self.device)
        return self._banned

    def summarize(
        self, text: str, options: DecodeOptions | None = None, n_best: int = 3, cancel=None, doc=None
    ) -> AbstractSummary:
        """A headline-style summary of ``text``. ValueError when there are no words to read."""
        import torch

        from engine.decoding import banning, decode
        from engine.summarize.pointer import batch_tensors
        from engine.text.tokenizer import BOS_ID, EOS_ID, UNK_ID

        t0 = time.perf_counter()
        src, where = self.source_ids(text, doc)
        if not [i for i in src if not self.tokenizer.is_special(i)]:
            raise ValueError("nothing to summarise: the text has no words")
        options = options or default_options()
        batch = batch_tensors([(src, [])], BOS_ID, EOS_ID, self.device)
        step = banning(self.model.step, self._never_written())  # pieces a summary never holds

        with torch.no_grad():
            state = self.model.encode(batch["src"], batch["lengths"])
            hyps = decode(
                step,
                state,
                batch=1,
                bos=BOS_ID,
                eos=EOS_ID,
                options=options,
                unk=UNK_ID,
                device=self.device,
                cancel=cancel,
                n_best=max(1, n_best),
            )[0]
        best = hyps[0]

        def text_of(h) -> str:
            return _tidy(self.tokenizer.decode(h.tokens))

        def ranked(h) -> float:  # what beam search sorted them by (greedy: the log-probability)
            alpha = options.length_penalty if options.method == "beam" else 0.0
            return float(h.score) / length_penalty(len(h.tokens), alpha)

        pieces = [self.tokenizer.id_to_piece(t) for t in best.tokens]
        n = len(best.tokens)  # the step that chose EOS has attention too: not shown
        skip = 1 if self.model.cfg.task_prefix else 0  # the task piece is not part of the text
        attention = [list(map(float, row[skip:])) for row in best.attn.get("source", [])[:n]]
        p_gen = [float(row[0]) for row in best.attn.get("p_gen", [])[:n]]
        return AbstractSummary(
            text=_tidy(self.tokenizer.decode(best.tokens)),
            pieces=pieces,
            source_pieces=[self.tokenizer.id_to_piece(t) for t in src[skip:]],
            attention=attention,
            p_gen=p_gen,
            log_prob=float(best.score),
            score=ranked(best),
            alternatives=[
                {"text": text_of(h), "log_prob": float(h.score), "score": ranked(h)} for h in hyps[1:]
            ],
            source_text=self.tokenizer.decode(src[skip:]),
            piece_sentence=where[skip:],
            seconds=time.perf_counter() - t0,
        )


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text[:1].upper() + text[1:]


# ---- ROUGE-L for model selection (the eval command uses Google's rouge-score) ----------------------

_TOKEN = re.compile(r"[a-z0-9]+")


def rouge_l(reference: str, candidate: str) -> float:
    """ROUGE-L F1 on lower-cased alphanumeric words (no stemming): the LCS of the word sequences."""
    ref, cand = _TOKEN.findall(reference.lower()), _TOKEN.findall(candidate.lower())
    if not ref or not cand:
        return 0.0
    prev = [0] * (len(cand) + 1)
    for r in ref:
        cur = [0] * (len(cand) + 1)
        for j, c in enumerate(cand, 1):
            cur[j] = prev[j - 1] + 1 if r == c else max(prev[j], cur[j - 1])
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r_ = lcs / len(cand), lcs / len(ref)
    return 2 * p * r_ / (p + r_)


FOREIGN_NOTE = (
    "The summarizer was trained on English news; on text in another script its headline is not "
    "meaningful (the extractive summary works on any language)."
)


def mostly_latin(text: str, share: float = 0.7) -> bool:
    """True when at least ``share`` of the letters in ``text`` are Latin (accents included)."""
    letters = [c for c in text[:50_000] if c.isalpha()]
    return not letters or sum(c < "\u0250" for c in letters) >= share * len(letters)


def summarize_text(abstractor: Abstractor, text: str, beam: int = 4, n_keywords: int = 0, cancel=None):
    """A :class:`~engine.summarize.summary.Summary` of ``text`` by the abstractive model: one generated
    sentence; each source sentence scored by the attention the summary paid to it (for shading);
    ``extras`` holds the word attention map, the copy gate per word and the other beams."""
    from engine.summarize.document import parse_document
    from engine.summarize.keywords import extract_keywords
    from engine.summarize.summary import Summary

    doc = parse_document(text)
    result = abstractor.summarize(text, default_options(beam), n_best=beam, cancel=cancel, doc=doc)
    out_words, src_words, rows = result.word_attention()
    _, out_of = _group(result.pieces)
    copy = [0.0] * len(out_words)
    counts = [0] * len(out_words)
    for i, g in enumerate(result.p_gen[: len(out_of)]):
        copy[out_of[i]] += 1.0 - g
        counts[out_of[i]] += 1
    return Summary(
        sentences=[result.text] if result.text else [],
        indices=[],
        scores=result.sentence_attention(len(doc.sentences)),
        keywords=extract_keywords(doc.sentences, n_keywords) if n_keywords else [],
        method="abstractive",
        source_sentences=doc.sentences,
        spans=doc.spans,
        title=doc.title,
        extras={
            "attention": {"rows": out_words, "cols": src_words, "values": rows},
            "copy": [c / max(n, 1) for c, n in zip(copy, counts)],
            "alternatives": result.alternatives,
            "log_prob": result.log_prob,
            "score": result.score,
            "note": "" if mostly_latin(text) else FOREIGN_NOTE,
            "model": str(abstractor.folder) if abstractor.folder else "",
        },
    )
