"""A dialogue (HRED) training run with callbacks and a cancel token.

``python -m engine train dialogue`` and the Train panel both run this one function, so the same
config reaches the same validation perplexity from either. It can take the dialogues from the
caller (a corpus, or the user's own chat history), reports through callbacks (the CLI adds a
progress bar), stops on a cancel token, and can start from an existing dialogue model
(fine-tuning: its tokenizer, config and weights), measuring the held-out perplexity before
training too.

Several GPUs or machines: the panel trains in one process. For DistributedDataParallel run the
same config from a terminal, e.g. ``torchrun --nproc_per_node 4 -m engine train dialogue --corpus
chitchat --out runs/gru`` (across machines add ``--nnodes 2 --node_rank R --rdzv_endpoint
HOST:PORT``); the generic trainer shards the batches by rank and only rank 0 validates and saves.
The folder it writes is a normal model folder: put it under the app's models folder to chat with it.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from engine.dialogue import corpus as C

HELD_OUT_FILE = "held_out.json"  # a run's held-out dialogue ids, so that a resumed run validates on them


@dataclass
class DialogueRunConfig:
    corpus: str = "chitchat"  # chitchat | chatterbot | a file/folder | "history" (dialogues given)
    fmt: str | None = None  # force the corpus reader for a file (see engine.dialogue.corpus)
    epochs: int = 10  # passes over the training pairs
    minutes: float = 0.0  # wall-clock budget; 0 = none
    max_steps: int = 0  # optimisation steps budget; 0 = none
    batch_size: int = 64  # pairs per step
    lr: float = 2e-3  # peak learning rate (cosine schedule after warmup)
    clip: float = 1.0  # max global gradient norm; 0 disables clipping
    patience: int = 3  # validations without improvement before stopping; 0 disables
    eval_every: int = 500  # steps between validations (and checkpoints)
    vocab_size: int = 8000  # sentencepiece vocabulary for a new tokenizer
    word_vectors: str = "word2vec"  # word2vec | fasttext | none: embedding initialisation
    max_train_examples: int = 0  # cap on training pairs; 0 = all
    valid_examples: int = 3000  # validation pairs per evaluation
    seed: int = 0  # tokenizer, initialisation and batching seed
    threads: int = 0  # torch CPU threads; 0 = leave as is
    model: dict = field(default_factory=dict)  # HREDConfig fields (cell, sizes, attention, context_turns…)
    init_from: str = ""  # fine-tune: a dialogue model folder to start from ("" = new model)
    last_turn_only: bool = False  # train only on each dialogue's last turn (e.g. replies rated up)


def make_config(values: dict) -> DialogueRunConfig:
    """A DialogueRunConfig from a dict; an unknown setting raises ValueError naming the known ones."""
    known = {f.name for f in fields(DialogueRunConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown training setting(s) {unknown}; known: {', '.join(sorted(known))}")
    return DialogueRunConfig(**values)


def load_dialogues(cfg: DialogueRunConfig) -> list[C.Dialogue]:
    dialogues = C.load_corpus(cfg.corpus, cfg.fmt)
    if not dialogues:
        raise ValueError(f"{cfg.corpus}: no dialogues with at least two turns were found")
    return dialogues


def history_dialogues(store, liked_only: bool = False) -> list[C.Dialogue]:
    """The user's conversations (each shown branch) as dialogues.

    ``liked_only``: one dialogue per reply rated up, ending with that reply (use with
    ``last_turn_only`` so only those replies are trained on). Empty or error messages are skipped.
    """
    if store is None:
        raise ValueError("chat history is off for this session, so there is nothing to train on")
    out = []
    for conv in store.list_conversations():
        thread = store.thread(conv["id"], attention=False)  # the text only: attention is megabytes
        thread = [m for m in thread if m["text"].strip() and m["status"] != "error"]
        # by role: two messages of the user in a row (one left unanswered) are one turn, as in the corpora
        if liked_only:
            for k, m in enumerate(thread):
                if m["role"] == "bot" and m.get("feedback") == 1 and k > 0:
                    turns = C.merge_turns((t["role"], t["text"]) for t in thread[: k + 1])
                    if len(turns) >= 2:
                        out.append(C.Dialogue(f"h{conv['id']}-{m['id']}", turns))
        else:
            turns = C.merge_turns((m["role"], m["text"]) for m in thread)
            if len(turns) >= 2:
                out.append(C.Dialogue(f"h{conv['id']}", turns))
    if not out:
        what = "replies rated up" if liked_only else "conversations with at least two turns"
        raise ValueError(f"your chat history has no {what} yet; chat a little (or pick a corpus) first")
    return out


def held_out_split(
    dialogues: list[C.Dialogue], out_dir=None, resume: bool = False, last_turn_only: bool = False
) -> tuple[list[C.Dialogue], list[C.Dialogue], bool]:
    """:func:`engine.dialogue.corpus.train_valid`'s split, written to ``out_dir/held_out.json`` and,
    when a run resumes, read back from there: chats added meanwhile train, and the chats held out
    at the start stay held out (otherwise a new chat could push one into training while the restored
    best perplexity was measured on it). ``last_turn_only`` (only replies rated up) needs two
    dialogues: one rated reply cannot be both trained on and held out."""
    path = Path(out_dir) / HELD_OUT_FILE if out_dir is not None else None
    if last_turn_only and len(dialogues) == 1:  # said in the words of rated replies, not of dialogues
        raise ValueError(
            "only one reply is rated up: rate up at least two (one to train on, one to hold out)"
        )
    split = fresh = C.train_valid(dialogues)
    if resume and path is not None and path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        held = set(saved.get("valid") or [])
        valid = [d for d in dialogues if d.id in held]
        usable = fresh[0] + fresh[1]  # what a fresh split would use: never the corpus's test part
        train = [d for d in usable if d.id not in held]
        if not saved.get("last_reply_only") and not fresh[2] and valid and train:
            split = (train, valid, False)
    if last_turn_only and split[2]:
        raise ValueError(
            "only one reply is rated up: rate up at least two (one to train on, one to hold out)"
        )
    if path is not None:
        record = {"valid": [d.id for d in split[1]], "last_reply_only": split[2]}
        path.write_text(json.dumps(record), encoding="utf-8")
    return split


def _pairs(dialogues: list[C.Dialogue], turns: int, last_only: bool):
    if not last_only:
        return C.examples(dialogues, turns)
    return ((list(d.turns[max(0, len(d.turns) - 1 - turns) : -1]), d.turns[-1]) for d in dialogues)


def _first_targets(chunks: list, limit: int) -> list:
    """The first chunks holding about ``limit`` targets (``--max-train-examples`` for history models)."""
    out, n = [], 0
    for c in chunks:
        if n >= limit:
            break
        out.append(c)
        n += c.n_targets
    return out


def event_dict(event) -> dict:
    """A trainer event as a plain dict with a ``kind`` (progress | eval | finished | failed)."""
    from engine.training import EvaluationEvent, FailedEvent, FinishedEvent, ProgressEvent

    kinds = {
        ProgressEvent: "progress",
        EvaluationEvent: "eval",
        FinishedEvent: "finished",
        FailedEvent: "failed",
    }
    out = {"kind": kinds.get(type(event), type(event).__name__)}
    out.update({f.name: getattr(event, f.name) for f in fields(event) if f.name != "history"})
    return out


def run_dialogue(
    cfg: DialogueRunConfig,
    out_dir: str | Path,
    dialogues: list[C.Dialogue] | None = None,
    device: str = "cpu",
    callbacks: Iterable[Callable] = (),
    cancel=None,
    resume: bool = False,
    on_info: Callable[[dict], None] | None = None,
) -> dict:
    """Train; returns what ``train dialogue`` writes to ``train_log.json``, plus ``before_val_ppl``."""
    import torch

    from engine import checkpoint
    from engine.dialogue.data import (
        Example,
        collate,
        collate_dialogues,
        dialogue_batches,
        encode_dialogues,
        encode_examples,
        length_batches,
        prep,
        token_weights,
    )
    from engine.dialogue.model import HRED, KIND, SCHEMA_VERSION, HREDConfig, sequence_loss
    from engine.text.tokenizer import Tokenizer
    from engine.training import TrainConfig, Trainer, perplexity

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if dialogues is None:
        dialogues = load_dialogues(cfg)
    train_d, valid_d, last_only = held_out_split(dialogues, out, resume, cfg.last_turn_only)  # never overlap

    def cancelled_early() -> dict | None:
        """Cancel while the data is prepared (a tokenizer, word vectors: tens of seconds) stops there."""
        if cancel is None or not getattr(cancel, "cancelled", False):
            return None
        return {
            "reason": "cancelled",
            "steps": 0,
            "best_val_ppl": None,
            "before_val_ppl": None,
            "train_minutes": 0.0,
            "params": None,
            "config": dict(cfg.model),
            "history": [],
            "folder": str(out),
        }

    if stop := cancelled_early():
        return stop
    base = Path(cfg.init_from) if cfg.init_from else None
    tok_path = out / "tokenizer.model"
    if base is not None:
        meta = checkpoint.read_config(base, kind=KIND, max_schema=SCHEMA_VERSION)
        model_cfg = checkpoint.config_from_dict(HREDConfig, meta["config"])
        if not tok_path.is_file():
            shutil.copyfile(
                checkpoint.model_file(base, meta["extra"], "tokenizer", "tokenizer.model"), tok_path
            )
        tok = Tokenizer.load(tok_path)
    else:
        known = {f.name for f in fields(HREDConfig)} - {"vocab_size"}
        unknown = sorted(set(cfg.model) - known)
        if unknown:
            raise ValueError(f"unknown model setting(s) {unknown}; known: {', '.join(sorted(known))}")
        if not tok_path.is_file():
            texts = [prep(t) for d in train_d for t in d.turns]
            tok = Tokenizer.train(texts, out, vocab_size=cfg.vocab_size, seed=cfg.seed)
        else:
            tok = Tokenizer.load(tok_path)
        model_cfg = HREDConfig(vocab_size=tok.vocab_size, **cfg.model)
    mc = model_cfg
    if stop := cancelled_early():  # after the tokenizer
        return stop
    turns, marks = mc.turns_read, mc.speaker_markers
    # one pass per dialogue (each turn encoded once) for history models, unless only last turns train
    by_dialogue = bool(mc.history_turns) and not cfg.last_turn_only
    chunks = []
    if by_dialogue:
        chunks = encode_dialogues(
            tok, [list(d.turns) for d in train_d], turns, mc.max_utt_tokens, mc.max_reply_tokens
        )
        if cfg.max_train_examples:
            chunks = _first_targets(chunks, cfg.max_train_examples)
        train_x = [Example([], t) for c in chunks for t in c.tgt[1:] if t]  # the targets only
    else:
        train_x = encode_examples(
            tok,
            _pairs(train_d, turns, cfg.last_turn_only),
            turns,
            mc.max_utt_tokens,
            mc.max_reply_tokens,
            marks,
        )
    if stop := cancelled_early():
        return stop
    valid_pairs = _pairs(valid_d, turns, cfg.last_turn_only or last_only)
    valid_x = encode_examples(tok, valid_pairs, turns, mc.max_utt_tokens, mc.max_reply_tokens, marks)
    if cfg.max_train_examples and not by_dialogue:
        train_x = train_x[: cfg.max_train_examples]
    if not train_x or not valid_x:
        raise ValueError("the corpus gave no training pairs (every dialogue needs at least two turns)")
    valid_x = random.Random(1).sample(valid_x, min(len(valid_x), cfg.valid_examples))

    from engine.memory import check_fits, count_params

    check_fits(count_params(lambda: HRED(mc)), device, "This chat model")  # before allocating anything
    torch.manual_seed(cfg.seed)
    model = HRED(mc)
    if base is not None and not resume:
        model.load_state_dict({k: v.float() for k, v in checkpoint.load_state(base).items()})
    elif cfg.word_vectors != "none" and not resume:
        _init_embeddings(model, tok, train_x, cfg.word_vectors, cfg.seed)
    if stop := cancelled_early():
        return stop
    model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    weights = (
        token_weights(train_x, mc.vocab_size, mc.token_weight_power).to(device)
        if mc.token_weight_power
        else None
    )

    def batches(epoch: int):
        if by_dialogue:
            for b in dialogue_batches(chunks, cfg.batch_size, cfg.seed + epoch):
                yield collate_dialogues(b, device)
            return
        for b in length_batches(train_x, cfg.batch_size, cfg.seed + epoch):
            yield collate(b, device)

    def step_loss(m, batch):
        if "turns" in batch:
            keys = ("turns", "turn_lens", "rows", "dec_in", "dec_lens")
            logits = m.forward_dialogues(*(batch[k] for k in keys), targets=batch["dec_out"])
        else:
            logits = m(batch["ctx"], batch["ctx_lens"], batch["dec_in"], batch["dec_lens"], batch["dec_out"])
        return sequence_loss(logits, batch["dec_out"], weights, mc.label_smoothing)

    valid_batches = [collate(b, device) for b in length_batches(valid_x, 128, 0)]

    def evaluate(m) -> dict:
        total, n = 0.0, 0
        for b in valid_batches:
            logits = m(b["ctx"], b["ctx_lens"], b["dec_in"], b["dec_lens"], b["dec_out"])
            loss, k = sequence_loss(logits, b["dec_out"])
            total += float(loss) * k
            n += k
        return {"val_loss": total / n, "val_ppl": perplexity(total / n)}

    def save_best(folder: Path, m) -> None:
        extra = {
            "tokenizer": "tokenizer.model",
            "default_decoding": {
                "method": "greedy",
                "max_len": 30,
                "repetition_penalty": 1.2,
                "block_ngram": 3,
                "self_repeat_penalty": 2.0,
            },
            "train": {
                "corpus": cfg.corpus,
                "examples": len(train_x),
                "device": device,
                "params": n_params,
                "seed": cfg.seed,
                "init_from": cfg.init_from,
            },
        }
        checkpoint.save(folder, KIND, SCHEMA_VERSION, mc, m.state_dict(), extra=extra, half=False)

    before = None
    if base is not None and not resume:
        model.eval()
        with torch.no_grad():
            before = evaluate(model)["val_ppl"]
        model.train()
    if by_dialogue:
        steps_per_epoch = len(dialogue_batches(chunks, cfg.batch_size, cfg.seed))
    else:
        steps_per_epoch = (len(train_x) + cfg.batch_size - 1) // cfg.batch_size
    if on_info is not None:
        on_info(
            {
                "kind": "start",
                "train_examples": len(train_x),
                "valid_examples": len(valid_x),
                "train_dialogues": len(train_d),
                "valid_dialogues": len(valid_d),
                "params": n_params,
                "vocab": tok.vocab_size,
                "steps_per_epoch": steps_per_epoch,
                "total_steps": steps_per_epoch * cfg.epochs,
                "before_val_ppl": before,
            }
        )
    tcfg = TrainConfig(
        epochs=cfg.epochs,
        lr=cfg.lr,
        clip_norm=cfg.clip,
        patience=cfg.patience,
        eval_every=cfg.eval_every,
        checkpoint_every=cfg.eval_every,
        metric="val_ppl",
        max_minutes=cfg.minutes,
        max_steps=cfg.max_steps,
        seed=cfg.seed,
        schedule="cosine",
        warmup_steps=min(200, steps_per_epoch),
        log_every=10,
    )
    trainer = Trainer(
        model,
        tcfg,
        batches,
        step_loss,
        evaluate,
        out,
        save_best,
        callbacks,
        cancel=cancel,
        device=device,
        steps_per_epoch=steps_per_epoch,
    )
    done = trainer.fit(resume=resume)
    return {
        "reason": done.reason,
        "steps": done.step,
        "best_val_ppl": done.best_metric,
        "before_val_ppl": before,
        "train_minutes": round(done.elapsed_s / 60, 2),
        "params": n_params,
        "config": asdict(mc),
        "history": done.history,
        "folder": str(out),
    }


def run_dialogue_events(
    config: dict,
    out_dir: str,
    dialogues: list | None = None,
    device: str = "cpu",
    resume: bool = False,
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """:func:`run_dialogue` with JSON-able arguments and every event as a dict (for engine.lab.worker)."""
    from engine.memory import memory_errors

    emit = on_event or (lambda _e: None)
    given = [C.Dialogue(str(i), tuple(turns)) for i, turns in dialogues] if dialogues is not None else None
    with memory_errors("Training the chat model"):
        return run_dialogue(
            make_config(config),
            out_dir,
            given,
            device,
            [lambda e: emit(event_dict(e))],
            cancel,
            resume,
            emit,
        )


def _init_embeddings(model, tok, train_x, kind: str, seed: int) -> None:
    """Train gensim vectors on the training replies' pieces and copy them into the embedding."""
    import numpy as np

    from engine.text import vectors as V

    sents = [[tok.id_to_piece(i) for i in e.target] for e in train_x]
    dim = model.cfg.emb_dim
    trainer = V.train_fasttext if kind == "fasttext" else V.train_word2vec
    kv = trainer(sents, dim=dim, window=5, min_count=2, epochs=5, workers=2, seed=seed)
    found = V.copy_piece_vectors(model.embed, tok, kv, 0.1 * np.sqrt(dim))  # the init's scale
    print(f"embeddings: {found}/{tok.vocab_size} pieces initialised from {kind}")
