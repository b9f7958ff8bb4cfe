"""Turn dialogue text into padded tensors for HRED, and batch them by length.

Model text is lower-cased with whitespace collapsed. Each context turn is prefixed with a
speaker marker relative to the reply being produced: ``<u1>`` for the other person (the user,
whose turn comes right before the reply), ``<u2>`` for the replier's own earlier turns.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, SPK1_ID, SPK2_ID

# A single turn is cut to this many characters (its end) before tokenising: a 100,000-character
# message costs no more than a normal one.
MAX_TURN_CHARS = 600


def prep(text: str) -> str:
    """The text form the model sees: lower-case, single spaces, control characters removed."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in str(text))
    return " ".join(text.lower().split())


@dataclass
class Example:
    ctx: list[list[int]]  # context turns (oldest first), each [speaker, pieces…]
    target: list[int]  # reply pieces (no BOS/EOS); empty at inference


def encode_context(
    tok, turns: list[str], context_turns: int, max_utt_tokens: int, cache: dict | None = None
) -> list[list[int]]:
    """Encode the last ``context_turns`` turns; the last turn is the user's (speaker ``<u1>``)."""
    turns = turns[-context_turns:]
    out = []
    for i, turn in enumerate(turns):
        from_user = (len(turns) - 1 - i) % 2 == 0
        text = prep(turn[-MAX_TURN_CHARS:])
        ids = cache.get(text) if cache is not None else None
        if ids is None:
            ids = tok.encode(text)
            if cache is not None:
                cache[text] = ids
        ids = ids[-(max_utt_tokens - 1) :] if ids else []
        out.append([SPK1_ID if from_user else SPK2_ID] + ids)
    return out


def encode_examples(
    tok, pairs, context_turns: int, max_utt_tokens: int, max_reply_tokens: int
) -> list[Example]:
    cache: dict = {}
    out = []
    for context, target in pairs:
        ctx = encode_context(tok, context, context_turns, max_utt_tokens, cache)
        t = prep(target[:MAX_TURN_CHARS])
        tgt = cache.get(t)
        if tgt is None:
            tgt = cache[t] = tok.encode(t)
        if tgt:
            out.append(Example(ctx, tgt[:max_reply_tokens]))
    return out


def collate(examples: list[Example], device="cpu") -> dict:
    """Pad a list of examples: ctx (B,N,L), ctx_lens (B,N), dec_in/dec_out (B,T), dec_lens (B,)."""
    import torch

    B = len(examples)
    N = max(len(e.ctx) for e in examples)
    L = max(len(u) for e in examples for u in e.ctx)
    T = max(len(e.target) for e in examples) + 1
    ctx = torch.full((B, N, L), PAD_ID, dtype=torch.long)
    ctx_lens = torch.zeros((B, N), dtype=torch.long)
    dec_in = torch.full((B, T), PAD_ID, dtype=torch.long)
    dec_out = torch.full((B, T), PAD_ID, dtype=torch.long)
    dec_lens = torch.zeros(B, dtype=torch.long)
    for b, e in enumerate(examples):
        for n, u in enumerate(e.ctx):
            ctx[b, n, : len(u)] = torch.tensor(u)
            ctx_lens[b, n] = len(u)
        t = len(e.target)
        dec_in[b, 0] = BOS_ID
        dec_in[b, 1 : t + 1] = torch.tensor(e.target)
        dec_out[b, :t] = torch.tensor(e.target)
        dec_out[b, t] = EOS_ID
        dec_lens[b] = t + 1
    return {
        "ctx": ctx.to(device),
        "ctx_lens": ctx_lens.to(device),
        "dec_in": dec_in.to(device),
        "dec_out": dec_out.to(device),
        "dec_lens": dec_lens,
    }


def length_batches(examples: list[Example], batch_size: int, seed: int) -> list[list[Example]]:
    """Shuffle, then group similar lengths (sorted within pools of 50 batches) to cut padding."""
    rng = random.Random(seed)
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    pool = batch_size * 50
    batches = []
    for start in range(0, len(idx), pool):
        chunk = sorted(
            idx[start : start + pool],
            key=lambda i: (len(examples[i].target), sum(len(u) for u in examples[i].ctx)),
        )
        for s in range(0, len(chunk), batch_size):
            batches.append([examples[i] for i in chunk[s : s + batch_size]])
    rng.shuffle(batches)
    return batches


def token_weights(examples: list[Example], vocab_size: int, power: float):
    """FACE-style frequency weights w_v ∝ (count_v + 1)^-power, mean 1 over the training tokens."""
    import torch

    counts = torch.ones(vocab_size)
    for e in examples:
        counts.index_add_(0, torch.tensor(e.target + [EOS_ID]), torch.ones(len(e.target) + 1))
    w = counts.pow(-power)
    w = w / ((w * counts).sum() / counts.sum())
    return w
