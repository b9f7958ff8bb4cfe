"""``python -m engine train dialogue``: tokenizer, word vectors and HRED training in one command."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, fields
from pathlib import Path

HELP = "train a dialogue model (HRED) on chitchat, chatterbot or your own chat files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--corpus",
        default="chitchat",
        help="chitchat | chatterbot | a file/folder (chitchat JSON, chatterbot YAML, "
        "DailyDialog __eou__ lines, plain text, JSON list of {id, turns})",
    )
    p.add_argument("--format", default=None, help="force the corpus reader (see --corpus)")
    p.add_argument("--out", required=True, help="output model folder (checkpoints go in OUT/checkpoint)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--minutes", type=float, default=0.0, help="wall-clock training budget (0 = none)")
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--eval-every", type=int, default=500, help="steps between validations")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument(
        "--word-vectors",
        choices=["word2vec", "fasttext", "none"],
        default="word2vec",
        help="initialise embeddings from gensim vectors trained on the training text",
    )
    p.add_argument("--max-train-examples", type=int, default=0, help="cap training pairs (0 = all)")
    p.add_argument("--valid-examples", type=int, default=3000, help="validation pairs per evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    from engine.dialogue.config import HREDConfig

    for f in fields(HREDConfig):
        if f.name == "vocab_size":
            continue
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            p.add_argument(
                flag,
                type=lambda s: s.lower() in ("1", "true", "yes", "on"),
                default=f.default,
                metavar="BOOL",
                help=f"model config (default {f.default})",
            )
        else:
            p.add_argument(
                flag, type=type(f.default), default=f.default, help=f"model config (default {f.default})"
            )


def run(args) -> int:
    import torch

    from engine import checkpoint
    from engine.device import choose_device
    from engine.dialogue import corpus as C
    from engine.dialogue.data import collate, encode_examples, length_batches, prep, token_weights
    from engine.dialogue.model import HRED, KIND, SCHEMA_VERSION, HREDConfig, sequence_loss
    from engine.text.tokenizer import Tokenizer
    from engine.training import TrainConfig, Trainer, tqdm_callback

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = choose_device(args.device)
    t_start = time.time()
    dialogues = C.load_corpus(args.corpus, args.format)
    if not dialogues:
        raise ValueError(f"{args.corpus}: no dialogues with at least two turns were found")
    train_d, valid_d = C.split(dialogues, "train"), C.split(dialogues, "valid")
    if not valid_d:  # tiny corpora: keep one dialogue aside so early stopping has something to watch
        valid_d = train_d[-1:]
    print(f"corpus: {len(dialogues)} dialogues ({len(train_d)} train, {len(valid_d)} valid)")

    cfg_kw = {f.name: getattr(args, f.name) for f in fields(HREDConfig) if f.name != "vocab_size"}
    tok_path = out / "tokenizer.model"
    if not tok_path.is_file():
        texts = [prep(t) for d in train_d for t in d.turns]
        tok = Tokenizer.train(texts, out, vocab_size=args.vocab_size, seed=args.seed)
    else:
        tok = Tokenizer.load(tok_path)
    cfg = HREDConfig(vocab_size=tok.vocab_size, **cfg_kw)
    turns = cfg.context_turns if cfg.hierarchical else 1
    train_x = encode_examples(
        tok, C.examples(train_d, turns), turns, cfg.max_utt_tokens, cfg.max_reply_tokens
    )
    valid_x = encode_examples(
        tok, C.examples(valid_d, turns), turns, cfg.max_utt_tokens, cfg.max_reply_tokens
    )
    if args.max_train_examples:
        train_x = train_x[: args.max_train_examples]
    import random

    valid_x = random.Random(1).sample(valid_x, min(len(valid_x), args.valid_examples))
    print(
        f"examples: {len(train_x)} train, {len(valid_x)} valid; vocab {tok.vocab_size}; device {info.label}"
    )

    torch.manual_seed(args.seed)
    model = HRED(cfg)
    if args.word_vectors != "none" and not args.resume:
        _init_embeddings(model, tok, train_x, args.word_vectors, args.seed)
    model.to(info.name)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f} M parameters")
    weights = (
        token_weights(train_x, cfg.vocab_size, cfg.token_weight_power).to(info.name)
        if cfg.token_weight_power
        else None
    )

    def batches(epoch: int):
        for b in length_batches(train_x, args.batch_size, args.seed + epoch):
            yield collate(b, info.name)

    def step_loss(m, batch):
        logits = m(batch["ctx"], batch["ctx_lens"], batch["dec_in"], batch["dec_lens"])
        return sequence_loss(logits, batch["dec_out"], weights, cfg.label_smoothing)

    valid_batches = [collate(b, info.name) for b in length_batches(valid_x, 128, 0)]

    def evaluate(m) -> dict:
        total, n = 0.0, 0
        for b in valid_batches:
            logits = m(b["ctx"], b["ctx_lens"], b["dec_in"], b["dec_lens"])
            loss, k = sequence_loss(logits, b["dec_out"])
            total += float(loss) * k
            n += k
        import math

        return {"val_loss": total / n, "val_ppl": math.exp(total / n)}

    def save_best(folder: Path, m) -> None:
        checkpoint.save(
            folder,
            KIND,
            SCHEMA_VERSION,
            cfg,
            m.state_dict(),
            extra={
                "tokenizer": "tokenizer.model",
                "default_decoding": {
                    "method": "greedy",
                    "max_len": 30,
                    "repetition_penalty": 1.2,
                    "block_ngram": 3,
                },
                "train": {
                    "corpus": args.corpus,
                    "examples": len(train_x),
                    "device": info.label,
                    "params": n_params,
                    "seed": args.seed,
                },
            },
            half=False,
        )

    steps_per_epoch = (len(train_x) + args.batch_size - 1) // args.batch_size
    tcfg = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        clip_norm=args.clip,
        patience=args.patience,
        eval_every=args.eval_every,
        checkpoint_every=args.eval_every,
        metric="val_ppl",
        max_minutes=args.minutes,
        max_steps=args.max_steps,
        seed=args.seed,
        schedule="cosine",
        warmup_steps=min(200, steps_per_epoch),
        log_every=10,
    )
    callbacks = [] if args.json else [tqdm_callback("train dialogue")]
    trainer = Trainer(
        model,
        tcfg,
        batches,
        step_loss,
        evaluate,
        out,
        save_best,
        callbacks,
        device=info.name,
        steps_per_epoch=steps_per_epoch,
    )
    done = trainer.fit(resume=args.resume)
    summary = {
        "reason": done.reason,
        "steps": done.step,
        "best_val_ppl": done.best_metric,
        "train_minutes": round(done.elapsed_s / 60, 2),
        "total_minutes": round((time.time() - t_start) / 60, 2),
        "params": n_params,
        "config": asdict(cfg),
        "history": done.history,
    }
    (out / "train_log.json").write_text(json.dumps(summary, indent=2))
    print(
        json.dumps({k: v for k, v in summary.items() if k != "history"})
        if args.json
        else f"done ({done.reason}): best validation perplexity {done.best_metric:.2f} "
        f"after {done.step} steps; model in {out}"
    )
    return 0


def _init_embeddings(model, tok, train_x, kind: str, seed: int) -> None:
    """Train gensim vectors on the training replies' pieces and copy them into the embedding."""
    import numpy as np
    import torch

    from engine.text import vectors as V

    sents = [[tok.id_to_piece(i) for i in e.target] for e in train_x]
    dim = model.cfg.emb_dim
    trainer = V.train_fasttext if kind == "fasttext" else V.train_word2vec
    kv = trainer(sents, dim=dim, window=5, min_count=2, epochs=5, workers=2, seed=seed)
    weight = model.embed.weight.detach().numpy().copy()
    found = 0
    for i in range(tok.vocab_size):
        piece = tok.id_to_piece(i)
        if piece in kv.key_to_index:
            vec = kv[piece]
            weight[i] = vec / (np.linalg.norm(vec) + 1e-8) * 0.1 * np.sqrt(dim)  # same scale as the init
            found += 1
    weight[0] = 0.0
    with torch.no_grad():
        model.embed.weight.copy_(torch.from_numpy(weight))
    print(f"embeddings: {found}/{tok.vocab_size} pieces initialised from {kind}")
