"""A small subword language model (the lecture's next-word prediction and text generation).

Any text becomes sentences (engine.text.sentences), a sentencepiece tokenizer is trained on them
(engine.text.tokenizer) and an embedding -> recurrent stack (LSTM by default) -> linear model
learns to predict each next piece, with the generic trainer (resumable from ``out/checkpoint``).
The best model is a self-describing folder (``config.json`` kind ``lab_lm``, safetensors,
``tokenizer.model``). :func:`generate` continues a seed phrase with the shared decoding options;
:func:`human_or_model` returns a real sentence and a generated one from the same corpus.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine import checkpoint
from engine.decoding import DecodeOptions, banning, decode
from engine.lab.lm_config import LMConfig, LMTrainConfig
from engine.nn.recurrent import Recurrent
from engine.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer

KIND = "lab_lm"
SCHEMA_VERSION = 1
MAX_TEXT_BYTES = 50_000_000  # a bigger file is refused with a message instead of filling memory


class LanguageModel(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.rnn = Recurrent(cfg.cell, cfg.emb_dim, cfg.hidden_size, num_layers=cfg.num_layers, dropout=0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.hidden_size, cfg.vocab_size)

    def forward(self, tokens: Tensor, lengths: Tensor | None = None, state=None) -> tuple[Tensor, object]:
        """tokens (B, T), lengths (B,) -> (logits (B, T, V), final state (L, B, H) [pair])."""
        x = self.drop(self.embed(tokens))  # (B, T, E)
        out, final = self.rnn(x, lengths, state)  # (B, T, H)
        return self.out(self.drop(out)), final  # (B, T, V)

    def step(self, tokens: Tensor, state: dict | None):
        """For engine.decoding: tokens (N,), state {"h": (N, L, H)[, "c"]} -> (logits (N, V), state, {})."""
        rec = None
        if state is not None:
            rec = (
                (state["h"].transpose(0, 1), state["c"].transpose(0, 1))
                if "c" in state
                else state["h"].transpose(0, 1)
            )
        logits, final = self(tokens.unsqueeze(1), None, rec)  # (N, 1, V)
        return logits[:, 0], _batch_first(final), {}


def _batch_first(final) -> dict:
    if isinstance(final, tuple):
        return {"h": final[0].transpose(0, 1), "c": final[1].transpose(0, 1)}  # (N, L, H)
    return {"h": final.transpose(0, 1)}


# -- data ---------------------------------------------------------------------------------------


def read_sentences(path: str | os.PathLike) -> list[str]:
    """Sentences of a UTF-8 text file; clear errors for a missing, huge, binary or empty file."""
    from engine.text.sentences import split_sentences

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give one UTF-8 text file")
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    if path.stat().st_size > MAX_TEXT_BYTES:
        raise ValueError(f"{path} is larger than {MAX_TEXT_BYTES // 1_000_000} MB; use a smaller text")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    sentences = [" ".join(s.split()) for s in split_sentences(text)]
    sentences = [s for s in sentences if len(s.split()) >= 2]
    if not sentences:
        raise ValueError(f"{path}: no sentences of at least two words were found")
    return sentences


def _encode(tok: Tokenizer, sentences: Iterable[str], max_tokens: int) -> list[list[int]]:
    out = []
    for s in sentences:
        ids = tok.encode(s)[:max_tokens]
        if ids:
            out.append([BOS_ID, *ids, EOS_ID])
    return out


def _collate(seqs: list[list[int]], device) -> tuple[Tensor, Tensor, Tensor]:
    """-> inputs (B, T), targets (B, T), lengths (B,)."""
    longest = max(len(s) for s in seqs) - 1
    inp = torch.full((len(seqs), longest), PAD_ID, dtype=torch.long)
    tgt = torch.full((len(seqs), longest), PAD_ID, dtype=torch.long)
    for i, s in enumerate(seqs):
        inp[i, : len(s) - 1] = torch.tensor(s[:-1])
        tgt[i, : len(s) - 1] = torch.tensor(s[1:])
    lengths = torch.tensor([len(s) - 1 for s in seqs])
    return inp.to(device), tgt.to(device), lengths


def _loss(model: LanguageModel, batch) -> tuple[Tensor, int]:
    inp, tgt, lengths = batch
    logits, _ = model(inp, lengths)  # (B, T, V)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1), ignore_index=PAD_ID)
    return loss, int((tgt != PAD_ID).sum())


# -- training -----------------------------------------------------------------------------------


def train_lm(
    sentences: list[str],
    out_dir: str | os.PathLike,
    model_cfg: LMConfig | None = None,
    train_cfg: LMTrainConfig | None = None,
    device: str = "cpu",
    callbacks: Iterable[Callable] = (),
    cancel=None,
    resume: bool = False,
) -> dict:
    """Train on ``sentences`` into ``out_dir``; returns a summary (reason, steps, best_val_ppl…)."""
    from engine.training import TrainConfig, Trainer, perplexity

    model_cfg = model_cfg or LMConfig()
    tc = train_cfg or LMTrainConfig()
    if len(sentences) < 2:
        raise ValueError("a language model needs at least two sentences of text")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    valid_s = sentences[:: max(2, tc.valid_every)]
    train_s = [s for i, s in enumerate(sentences) if i % max(2, tc.valid_every)]
    tok_path = out / "tokenizer.model"
    if resume and tok_path.is_file():
        tok = Tokenizer.load(tok_path)
    else:
        tok = Tokenizer.train(train_s, out, vocab_size=tc.vocab_size, seed=tc.seed, num_threads=1)
    cfg = LMConfig(**{**asdict(model_cfg), "vocab_size": tok.vocab_size})
    train_x, valid_x = _encode(tok, train_s, tc.max_tokens), _encode(tok, valid_s, tc.max_tokens)
    torch.manual_seed(tc.seed)
    model = LanguageModel(cfg).to(device)
    valid_batches = [_collate(valid_x[i : i + 64], device) for i in range(0, len(valid_x), 64)]

    def batches(epoch: int):
        order = list(range(len(train_x)))
        random.Random(tc.seed + epoch).shuffle(order)
        for i in range(0, len(order), tc.batch_size):
            yield _collate([train_x[j] for j in order[i : i + tc.batch_size]], device)

    def evaluate(m) -> dict:
        total = n = 0
        for b in valid_batches:
            loss, k = _loss(m, b)
            total, n = total + float(loss) * k, n + k
        return {"val_loss": total / max(n, 1), "val_ppl": perplexity(total / max(n, 1))}

    def save_best(folder: Path, m) -> None:
        tok.save(folder)
        checkpoint.save(
            folder, KIND, SCHEMA_VERSION, cfg, m.state_dict(), extra={"tokenizer": "tokenizer.model"}
        )

    steps_per_epoch = math.ceil(len(train_x) / tc.batch_size)
    tcfg = TrainConfig(
        epochs=tc.epochs,
        lr=tc.lr,
        optimizer="adam",
        clip_norm=tc.clip_norm,
        checkpoint_every=0,
        patience=0,
        metric="val_loss",
        max_steps=tc.max_steps,
        max_minutes=tc.minutes,
        log_every=max(1, min(10, steps_per_epoch)),
        seed=tc.seed,
        amp=False,
    )
    trainer = Trainer(
        model,
        tcfg,
        batches,
        _loss,
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
        "best_val_ppl": perplexity(done.best_metric) if done.best_metric is not None else None,
        "train_minutes": round(done.elapsed_s / 60, 3),
        "history": done.history,
        "sentences": {"train": len(train_x), "valid": len(valid_x)},
        "config": asdict(cfg),
        "folder": str(out),
    }


def train_lm_events(
    text_path: str,
    out_dir: str,
    model: dict | None = None,
    train: dict | None = None,
    device: str = "cpu",
    resume: bool = False,
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """:func:`train_lm` on a text file with JSON-able arguments, events as dicts (engine.lab.worker)."""
    from engine.dialogue.run import event_dict

    emit = on_event or (lambda _e: None)
    return train_lm(
        read_sentences(text_path),
        out_dir,
        LMConfig(**(model or {})),
        LMTrainConfig(**(train or {})),
        device,
        [lambda e: emit(event_dict(e))],
        cancel,
        resume,
    )


def load_lm(folder: str | os.PathLike, device: str = "cpu") -> tuple[LanguageModel, Tokenizer]:
    meta = checkpoint.read_config(folder, kind=KIND, max_schema=SCHEMA_VERSION)
    cfg = checkpoint.config_from_dict(LMConfig, meta["config"])
    tok = Tokenizer.load(checkpoint.model_file(folder, meta["extra"], "tokenizer", "tokenizer.model"))
    model = LanguageModel(cfg)
    try:
        model.load_state_dict(checkpoint.load_state(folder))
    except RuntimeError as exc:
        raise checkpoint.CheckpointError(f"{folder}: weights do not match config.json ({exc})") from None
    return model.to(device).eval(), tok


# -- generation ---------------------------------------------------------------------------------


def generate(
    model: LanguageModel,
    tok: Tokenizer,
    seed_text: str = "",
    options: DecodeOptions | None = None,
    device: str = "cpu",
) -> str:
    """The seed phrase and its continuation, up to the end of the sentence or ``max_len`` pieces."""
    options = options or DecodeOptions(method="sample", seed=0)
    ids = [BOS_ID, *tok.encode(seed_text.strip())]
    model.eval()
    with torch.no_grad():
        state = None
        if len(ids) > 1:
            prefix = torch.tensor([ids[:-1]], device=device)
            _, final = model(prefix)
            state = _batch_first(final)
        # control pieces (<sep>, <u1> …) are never written; EOS ends the sentence; bytes spell
        # characters the vocabulary lacks
        banned = torch.tensor(tok.never_written(keep_bytes=True), dtype=torch.long, device=device)
        step = banning(model.step, banned)
        hyps = decode(
            step, state, batch=1, bos=ids[-1], eos=EOS_ID, options=options, unk=UNK_ID, device=device
        )
    # sampled bytes that do not form a character decode to U+FFFD: left out rather than shown
    return tok.decode(ids[1:] + hyps[0][0].tokens).replace("\ufffd", "")


def human_or_model(
    model: LanguageModel,
    tok: Tokenizer,
    sentences: list[str],
    options: DecodeOptions | None = None,
    seed: int | None = None,
    prompt_words: int = 2,
    device: str = "cpu",
) -> dict:
    """A real sentence and a generated one starting with the same words, in random order.

    Returns ``{"prompt", "real", "generated", "a", "b", "model_is": "a" | "b"}``.
    """
    rng = random.Random(seed)
    pool = [s for s in sentences if len(s.split()) > prompt_words + 2] or sentences
    if not pool:
        raise ValueError("no sentences to play with")
    real = rng.choice(pool)
    prompt = " ".join(real.split()[:prompt_words])
    opts = options or DecodeOptions(method="sample", max_len=40, seed=rng.randrange(1 << 30))
    fake = generate(model, tok, prompt, opts, device)
    first = rng.random() < 0.5
    return {
        "prompt": prompt,
        "real": real,
        "generated": fake,
        "a": fake if first else real,
        "b": real if first else fake,
        "model_is": "a" if first else "b",
    }
