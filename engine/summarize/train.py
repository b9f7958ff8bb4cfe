"""Training the abstractive summarizer (pointer-generator) on article -> headline pairs.

Pairs come from a summarisation data set (``engine.summarize.data``): the source is the article
body (title line removed), the target its headline (``target="title"``) or its reference summary
(``target="summary"``, cut to ``max_target`` pieces). The held-out *test* part of
``engine.summarize.data`` is never read for training; validation is the md5 bucket 2 of the rest.
A sentencepiece tokenizer and Word2Vec piece vectors (the embedding's start) are trained on the
training articles. Model selection: ROUGE-L of greedy headlines on the validation pairs.

With ``denoise`` > 0 (BART-style denoising as an auxiliary task), each epoch also trains on that
many sentences of the training articles, noised (words dropped, neighbours swapped) -> restored.
It gives the decoder far more fluent text to learn from than ~1,300 headlines, and teaches the copy
mechanism to copy whole words in order. A task piece at the start of the source (``<u1>`` write a
headline, ``<u2>`` restore a sentence) tells the two apart; summaries always ask for a headline.

Fine-tuning (``init_from``: a summarizer model folder, the shipped one or a finished run) starts
from that model's architecture, weights and tokenizer; the tokenizer is always the starting model's
(its pieces are what the weights were trained on), so ``vocab_size``, ``word_vectors`` and the
``model`` sizes are not used then (``denoise`` still turns the task piece on). The start model is
validated on the new data before the first step (``before_rouge_l`` in train_log.json), and what it
was is written to ``OUT/init_from.json``, so that a resumed run needs neither the flag nor the
starting folder again.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

VAL_BUCKET = 2  # md5(id) % 10 == 2 -> validation (0 and 1 are the test split)
INIT_FILE = "init_from.json"  # a fine-tuning run's starting folder and model config (for resume)


@dataclass
class SummarizerTrainConfig:
    data: str = ""  # BBC News Summary folder or .jsonl file/folder
    fmt: str = "bbc"  # bbc | jsonl
    target: str = "title"  # title (headline generation) | summary (first reference sentences)
    epochs: int = 40  # passes over the training pairs
    minutes: float = 0.0  # wall-clock budget; 0 = none
    max_steps: int = 0  # step budget; 0 = none
    batch_size: int = 32  # pairs per step
    lr: float = 2e-3  # peak learning rate (cosine decay after warm-up)
    clip: float = 2.0  # gradient norm clipping
    patience: int = 6  # evaluations without a better validation ROUGE-L before stopping
    eval_every: int = 0  # steps between evaluations; 0 = every epoch
    vocab_size: int = 6000  # sentencepiece vocabulary
    word_vectors: bool = True  # start the embedding from Word2Vec trained on the training articles
    seed: int = 0
    threads: int = 0  # torch CPU threads; 0 = leave as is
    limit: int = 0  # use at most this many training pairs (0 = all; tests use a few)
    denoise: int = 0  # per epoch, this many denoising pairs (a training article's sentence with words
    # dropped and swapped -> the sentence) mixed with the headline pairs; 0 = headlines only
    denoise_drop: float = 0.25  # share of words dropped from a denoising source
    model: dict = field(default_factory=dict)  # PointerConfig fields (not used with init_from)
    init_from: str = ""  # fine-tune: a summarizer model folder to start from ("" = a new model)


def _bucket(example_id: str) -> int:
    return int(hashlib.md5(example_id.encode("utf-8")).hexdigest(), 16) % 10


def make_pairs(examples, target: str = "title") -> list[tuple[str, str, str]]:
    """(id, source text, target text) for every example that has both."""
    from engine.summarize.abstractive import source_of
    from engine.summarize.document import parse_document

    if target not in ("title", "summary"):
        raise ValueError(f"unknown target {target!r}; known: title, summary")
    out = []
    for ex in examples:
        if target == "title":
            tgt = parse_document(ex.text).title
        else:
            tgt = " ".join(ex.reference[:2])
        src = source_of(ex.text)
        if src and tgt:
            out.append((ex.id, src, tgt))
    return out


def split_pairs(pairs):
    """(train, validation) without the held-out test pairs."""
    from engine.summarize.data import is_test

    rest = [p for p in pairs if not is_test(p[0])]
    val = [p for p in rest if _bucket(p[0]) == VAL_BUCKET]
    train = [p for p in rest if _bucket(p[0]) != VAL_BUCKET]
    if not val and len(train) > 1:  # tiny sets: keep one pair aside
        val = train[-1:]
    return train, val


def train_summarizer(
    cfg: SummarizerTrainConfig,
    out: str | Path,
    *,
    device: str = "cpu",
    resume: bool = False,
    callbacks: Iterable[Callable] = (),
    cancel=None,
    log: Callable[[str], None] = print,
    pairs: list[tuple[str, str, str]] | None = None,
):
    """Train and write a model folder in ``out`` (best model) with ``out/checkpoint`` (resumable).
    ``pairs`` (id, source, target) replaces reading ``cfg.data``. Returns the trainer's result."""
    import numpy as np
    import torch

    from engine import checkpoint
    from engine.summarize.abstractive import Abstractor, default_options, rouge_l
    from engine.summarize.data import load_examples
    from engine.summarize.pointer import KIND, SCHEMA_VERSION, PointerConfig, PointerGenerator, batch_tensors
    from engine.text.tokenizer import BOS_ID, EOS_ID, SPK1_ID, Tokenizer
    from engine.training import TrainConfig, Trainer, write_train_log

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if pairs is None:
        if not cfg.data:
            raise ValueError("no training data: give --data DIR (BBC News Summary folder or .jsonl)")
        examples = load_examples(cfg.data, cfg.fmt)
        pairs = make_pairs(examples, cfg.target)
        if examples and not pairs:
            other = "summary" if cfg.target == "title" else "title"
            hint = (
                "the texts have no title line (a first line followed by a blank line)"
                if cfg.target == "title"
                else "the examples have no reference summaries"
            )
            raise ValueError(
                f"{len(examples)} example(s) read, but none has a {cfg.target} to learn: {hint}; "
                f"try --target {other}"
            )
    train, val = split_pairs(pairs)
    if cfg.limit:
        train = train[: cfg.limit]
    if not train or not val:
        raise ValueError(f"too few pairs to train on ({len(pairs)} found; need 2 outside the test split)")
    log(f"pairs: {len(train)} train / {len(val)} validation (test split held out)")

    tok_path = out / "tokenizer.model"
    start = start_model(cfg, out, resume)  # fine-tuning: the starting model (None: a new model)
    base_state = None
    if start is not None:
        mcfg, base_state = start["config"], start.get("state")
        if base_state is not None:  # a fresh fine-tuning run: always the starting model's tokenizer
            shutil.copyfile(start["tokenizer"], tok_path)
            record = {"init_from": str(cfg.init_from), "model": asdict(mcfg)}
            (out / INIT_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
        tok = Tokenizer.load(tok_path)
        if tok.vocab_size != mcfg.vocab_size:  # a resumed run whose folder's tokenizer was replaced
            raise ValueError(
                f"{tok_path}: {tok.vocab_size} pieces, but the model started from {start['folder']} has "
                f"{mcfg.vocab_size}; start the fine-tuning run again in a new folder"
            )
        log(f"fine-tuning {start['folder']}: its architecture and tokenizer ({tok.vocab_size} pieces)")
    else:
        known = {f for f in PointerConfig.__dataclass_fields__} - {"vocab_size"}
        unknown = sorted(set(cfg.model) - known)
        if unknown:
            raise ValueError(f"unknown model setting(s) {unknown}; known: {', '.join(sorted(known))}")
        if tok_path.is_file():
            tok = Tokenizer.load(tok_path)
        else:
            from engine.text.sentences import split_sentences

            texts = [s for _, src, tgt in train for s in [tgt, *split_sentences(src)]]
            tok = Tokenizer.train(texts, out, vocab_size=cfg.vocab_size, seed=cfg.seed)
        model_fields = dict(cfg.model)
        if cfg.denoise:
            model_fields["task_prefix"] = True
        mcfg = PointerConfig(vocab_size=tok.vocab_size, **model_fields)
    prefix = [SPK1_ID] if mcfg.task_prefix else []

    def encode(p):
        src = prefix + tok.encode(p[1])
        return (src[: mcfg.max_source], tok.encode(p[2])[: mcfg.max_target])

    train_x = [encode(p) for p in train]
    sentences = _denoise_sentences(tok, [src for _, src, _ in train], mcfg.max_target) if cfg.denoise else []
    if cfg.denoise:
        log(f"denoising: {cfg.denoise} of {len(sentences)} training sentences per epoch")
    torch.manual_seed(cfg.seed)
    model = PointerGenerator(mcfg)
    if base_state is not None:
        model.load_state_dict(base_state)
    elif cfg.word_vectors and not resume and start is None:
        _init_embeddings(model, tok, [src for _, src, _ in train], cfg.seed, log)
    model.to(device)

    def batches(epoch: int):
        rng = random.Random(cfg.seed + epoch)  # the same batches for the same epoch: resumable
        items = list(train_x)
        if sentences:
            picked = rng.sample(sentences, min(cfg.denoise, len(sentences)))
            items += [(_noised(words, rng, cfg.denoise_drop, mcfg.max_source), ids) for words, ids in picked]
        rng.shuffle(items)
        for i in range(0, len(items), cfg.batch_size):
            yield batch_tensors(items[i : i + cfg.batch_size], BOS_ID, EOS_ID, device)

    def step_loss(m, b):
        loss, _ = m(b["src"], b["lengths"], b["tgt_in"], b["tgt_out"])
        return loss, int((b["tgt_out"] != 0).sum())

    def evaluate(m) -> dict:
        ab = Abstractor(m, tok, device)
        scores, nll = [], []
        opts = default_options(beam=1)
        opts.max_len = mcfg.max_target
        with torch.no_grad():
            for _, src, tgt in val:
                scores.append(rouge_l(tgt, ab.summarize(src, opts, n_best=1).text))
            for i in range(0, len(val), 64):
                b = batch_tensors([encode(p) for p in val[i : i + 64]], BOS_ID, EOS_ID, device)
                nll.append(float(m(b["src"], b["lengths"], b["tgt_in"], b["tgt_out"])[1]["nll"]))
        m.train()
        return {"rouge_l": float(np.mean(scores)), "val_nll": float(np.mean(nll))}

    def save_best(folder: Path, m) -> None:
        extra = {
            "tokenizer": "tokenizer.model",
            "train": {**{k: v for k, v in asdict(cfg).items() if k != "model"}, "pairs": len(train)},
            "val_metrics": trainer.history[-1] if trainer.history else {},
        }
        checkpoint.save(folder, KIND, SCHEMA_VERSION, mcfg, m.state_dict(), extra=extra)

    steps_per_epoch = (len(train_x) + min(cfg.denoise, len(sentences)) + cfg.batch_size - 1) // cfg.batch_size
    tcfg = TrainConfig(
        epochs=cfg.epochs,
        lr=cfg.lr,
        clip_norm=cfg.clip,
        schedule="cosine",
        warmup_steps=min(100, steps_per_epoch),
        eval_every=cfg.eval_every,
        checkpoint_every=max(steps_per_epoch, 50),
        patience=cfg.patience,
        metric="rouge_l",
        mode="max",
        max_minutes=cfg.minutes,
        max_steps=cfg.max_steps,
        log_every=10,
        seed=cfg.seed,
    )
    trainer = Trainer(
        model,
        tcfg,
        batches,
        step_loss,
        evaluate,
        out,
        save_best,
        list(callbacks),
        cancel,
        device=device,
        steps_per_epoch=steps_per_epoch,
    )
    before = dict((start or {}).get("before") or {})
    if base_state is not None:  # the starting model on this data's validation pairs, before any step
        model.eval()
        before = evaluate(model)
        log(f"before fine-tuning: validation ROUGE-L {before['rouge_l']:.4f}, NLL {before['val_nll']:.4f}")
        record["before"] = before  # kept for the train log of a resumed run
        (out / INIT_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    done = trainer.fit(resume=resume)
    extra = {f"before_{k}": v for k, v in before.items()}
    write_train_log(out, done, "best_rouge_l", parameters=sum(p.numel() for p in model.parameters()), **extra)
    return done


def start_model(cfg: SummarizerTrainConfig, out: str | Path, resume: bool = False) -> dict | None:
    """The model a fine-tuning run starts from, or None for a run that trains a new model.

    A resumed run that started from a model reads ``OUT/init_from.json`` (its config; the tokenizer
    is in OUT already): ``{"folder", "config"}``; a resumed run without that record trained a new
    model (None), and ``cfg.init_from`` is refused for it before any file is touched. A fresh one
    loads ``cfg.init_from`` as the app would (kind, schema, sizes, tokenizer and weights checked)
    and adds ``state`` (its float32 weights) and ``tokenizer`` (the file to copy); ValueError,
    naming the folder, when it is not a usable summarizer."""
    from engine import checkpoint
    from engine.summarize.pointer import PointerConfig

    out = Path(out)
    record = out / INIT_FILE
    if resume and record.is_file():
        try:
            saved = json.loads(record.read_text(encoding="utf-8"))
            mcfg = checkpoint.config_from_dict(PointerConfig, saved["model"], record)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{record} is damaged ({exc}); start the run again in a new folder") from None
        return {"folder": str(saved.get("init_from", "")), "config": mcfg, "before": saved.get("before")}
    if resume:  # a run that trained a new model: never load a start model into it
        if cfg.init_from:
            raise ValueError(f"{out} was not started with --init-from; resume it without --init-from")
        return None
    if not cfg.init_from:
        return None
    return load_start(cfg.init_from, cfg.denoise)


def load_start(folder: str | Path, denoise: int = 0) -> dict:
    """A summarizer model folder to fine-tune: ``{"folder", "config", "state", "tokenizer"}``.
    ``denoise`` > 0 turns the task piece on (as for a new model)."""
    from dataclasses import replace

    from engine import checkpoint
    from engine.summarize.abstractive import Abstractor
    from engine.text.tokenizer import MODEL_FILENAME

    folder = Path(folder)
    try:
        loaded = Abstractor.load(folder, device="cpu")  # every check the app makes before using it
        meta = checkpoint.read_config(folder)
    except (ValueError, OSError) as exc:  # CheckpointError is a ValueError
        raise ValueError(f"cannot fine-tune from {folder}: not a usable summarizer model ({exc})") from None
    mcfg = loaded.model.cfg
    if denoise and not mcfg.task_prefix:
        mcfg = replace(mcfg, task_prefix=True)
    return {
        "folder": str(folder),
        "config": mcfg,
        "state": {k: v.detach().float().clone() for k, v in loaded.model.state_dict().items()},
        "tokenizer": checkpoint.model_file(folder, meta["extra"], "tokenizer", MODEL_FILENAME),
    }


def _denoise_sentences(tok, texts: list[str], max_target: int) -> list[tuple[list[list[int]], list[int]]]:
    """Sentences of the training articles for denoising: (pieces of each word, target ids). Only
    sentences of 6+ words that fit the target length whole."""
    from engine.text.sentences import split_sentences

    out = []
    for text in texts:
        for sentence in split_sentences(text):
            words = sentence.split()
            if len(words) < 6:
                continue
            ids = tok.encode(sentence)
            if len(ids) <= max_target:
                out.append(([tok.encode(w) for w in words], ids))
    return out


def _noised(words: list[list[int]], rng: random.Random, drop: float, limit: int) -> list[int]:
    """The ``<u2>`` task piece + the sentence with about ``drop`` of its words deleted and some
    neighbouring words swapped (at least one word is kept)."""
    from engine.text.tokenizer import SPK2_ID

    kept = [w for w in words if rng.random() >= drop] or [words[0]]
    for i in range(len(kept) - 1):
        if rng.random() < 0.1:
            kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return ([SPK2_ID] + [p for w in kept for p in w])[:limit]


def _init_embeddings(model, tok, texts: list[str], seed: int, log) -> None:
    """Word2Vec on the training articles' pieces, copied into the embedding (same scale as init)."""
    import numpy as np

    from engine.text.sentences import split_sentences
    from engine.text.vectors import copy_piece_vectors, train_word2vec

    sents = [[tok.id_to_piece(i) for i in tok.encode(s)] for t in texts for s in split_sentences(t)]
    sents = [s for s in sents if len(s) > 1]
    if not sents:
        return
    dim = model.cfg.emb_dim
    kv = train_word2vec(sents, dim=dim, window=5, min_count=2, epochs=5, workers=1, seed=seed)
    std = float(model.embed.weight.detach()[1:].std())  # the same scale as the random start
    found = copy_piece_vectors(model.embed, tok, kv, np.sqrt(dim) * std)
    log(f"embeddings: {found}/{tok.vocab_size} pieces started from Word2Vec on the training articles")
