"""Turn dialogue text into padded tensors for HRED, and batch them by length.

Model text is lower-cased with whitespace collapsed. Each context turn is prefixed with a
speaker marker relative to the reply being produced: ``<u1>`` for the other person (the user,
whose turn comes right before the reply), ``<u2>`` for the replier's own earlier turns.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, SPK1_ID, SPK2_ID, UNK_ID

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
    ends: bool = True  # False: the reply was cut at max_reply_tokens, so no EOS is taught after it


def encode_context(
    tok,
    turns: list[str],
    context_turns: int,
    max_utt_tokens: int,
    cache: dict | None = None,
    markers: bool = True,
) -> list[list[int]]:
    """Encode the last ``context_turns`` turns; the last turn is the user's (speaker ``<u1>``).

    Without ``markers`` each turn is its last ``max_utt_tokens`` pieces (an empty turn keeps one
    UNK so it still counts as a turn); the model then tells the speakers apart by position.
    """
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
        if not markers:
            out.append(ids[-max_utt_tokens:] if ids else [UNK_ID])
            continue
        ids = ids[-(max_utt_tokens - 1) :] if ids else []
        out.append([SPK1_ID if from_user else SPK2_ID] + ids)
    return out


def encode_examples(
    tok, pairs, context_turns: int, max_utt_tokens: int, max_reply_tokens: int, markers: bool = True
) -> list[Example]:
    cache: dict = {}
    out = []
    for context, target in pairs:
        ctx = encode_context(tok, context, context_turns, max_utt_tokens, cache, markers)
        t = prep(target[:MAX_TURN_CHARS])
        tgt = cache.get(t)
        if tgt is None:
            tgt = cache[t] = tok.encode(t)
        if tgt:
            out.append(Example(ctx, tgt[:max_reply_tokens], len(tgt) <= max_reply_tokens))
    return out


def collate(examples: list[Example], device="cpu") -> dict:
    """Pad a list of examples: ctx (B,N,L), ctx_lens (B,N), dec_in/dec_out (B,T), dec_lens (B,)."""
    import torch

    B = len(examples)
    N = max(len(e.ctx) for e in examples)
    L = max(len(u) for e in examples for u in e.ctx)
    ctx = torch.full((B, N, L), PAD_ID, dtype=torch.long)
    ctx_lens = torch.zeros((B, N), dtype=torch.long)
    for b, e in enumerate(examples):
        for n, u in enumerate(e.ctx):
            ctx[b, n, : len(u)] = torch.tensor(u)
            ctx_lens[b, n] = len(u)
    return {
        "ctx": ctx.to(device),
        "ctx_lens": ctx_lens.to(device),
        **_decoder_tensors([(e.target, e.ends) for e in examples], device),
    }


def _decoder_tensors(targets: list[tuple[list[int], bool]], device) -> dict:
    """(reply pieces, ends) per row -> dec_in = BOS + pieces, dec_out = pieces + EOS (PAD when the
    reply was cut: it does not end there), both (R,T), and dec_lens (R,) on the CPU."""
    import torch

    R, T = len(targets), max(len(ids) for ids, _ in targets) + 1
    dec_in = torch.full((R, T), PAD_ID, dtype=torch.long)
    dec_out = torch.full((R, T), PAD_ID, dtype=torch.long)
    dec_lens = torch.zeros(R, dtype=torch.long)
    for r, (ids, ends) in enumerate(targets):
        n = len(ids)
        dec_in[r, 0] = BOS_ID
        dec_in[r, 1 : n + 1] = torch.tensor(ids)
        dec_out[r, :n] = torch.tensor(ids)
        dec_out[r, n] = EOS_ID if ends else PAD_ID
        dec_lens[r] = n + 1
    return {"dec_in": dec_in.to(device), "dec_out": dec_out.to(device), "dec_lens": dec_lens}


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


def token_weights(examples: list[Example] | list[list[int]], vocab_size: int, power: float):
    """FACE-style frequency weights w_v ∝ (count_v + 1)^-power, mean 1 over the training tokens.

    ``examples``: Examples, or the target piece lists themselves."""
    import torch

    counts = torch.ones(vocab_size)
    for e in examples:
        target = e.target if isinstance(e, Example) else e
        counts.index_add_(0, torch.tensor(target + [EOS_ID]), torch.ones(len(target) + 1))
    w = counts.pow(-power)
    w = w / ((w * counts).sum() / counts.sum())
    return w


# ---- one pass per dialogue (models with ``history_turns``) ------------------------------------
@dataclass
class DialogueChunk:
    """Consecutive turns of one dialogue: each as context (its last pieces) and as a reply (its
    first pieces). Every turn after the first is a target, exactly as in the per-pair examples."""

    ctx: list[list[int]]
    tgt: list[list[int]]  # [] = not a target (a turn that tokenises to nothing)
    ends: list[bool] | None = None  # per turn, as Example.ends (None: every reply is whole)

    @property
    def n_targets(self) -> int:
        return sum(1 for t in self.tgt[1:] if t)


def encode_dialogues(
    tok, dialogues: list[list[str]], history_turns: int, max_utt_tokens: int, max_reply_tokens: int
) -> list[DialogueChunk]:
    """Dialogues longer than ``history_turns + 1`` turns become chunks that overlap by one turn,
    so every turn after a dialogue's first is a target once, with at most ``history_turns``
    turns before it (the window a reply sees at inference)."""
    cache: dict = {}
    span = history_turns + 1
    out = []
    for turns in dialogues:
        ctx, tgt, ends = [], [], []
        for turn in turns:
            ctx += encode_context(tok, [turn], 1, max_utt_tokens, cache, markers=False)
            t = prep(turn[:MAX_TURN_CHARS])
            ids = cache.get(t)
            if ids is None:
                ids = cache[t] = tok.encode(t)
            tgt.append(ids[:max_reply_tokens])
            ends.append(len(ids) <= max_reply_tokens)
        start = 0
        while len(ctx) - start >= 2:
            chunk = DialogueChunk(
                ctx[start : start + span], tgt[start : start + span], ends[start : start + span]
            )
            if chunk.n_targets:
                out.append(chunk)
            if start + span >= len(ctx):
                break
            start += span - 1
    return out


def collate_dialogues(chunks: list[DialogueChunk], device="cpu") -> dict:
    """turns (D,M,L), turn_lens (D,M); one row per target: rows (R,2) = (dialogue, turn),
    dec_in/dec_out (R,T), dec_lens (R,)."""
    import torch

    D = len(chunks)
    M = max(len(c.ctx) for c in chunks)
    L = max(len(u) for c in chunks for u in c.ctx)
    targets = [(d, t) for d, c in enumerate(chunks) for t in range(1, len(c.tgt)) if c.tgt[t]]
    turns = torch.full((D, M, L), PAD_ID, dtype=torch.long)
    turn_lens = torch.zeros((D, M), dtype=torch.long)
    for d, c in enumerate(chunks):
        for m, u in enumerate(c.ctx):
            turns[d, m, : len(u)] = torch.tensor(u)
            turn_lens[d, m] = len(u)
    rows = torch.tensor(targets, dtype=torch.long).view(len(targets), 2)
    replies = [(chunks[d].tgt[t], chunks[d].ends is None or chunks[d].ends[t]) for d, t in targets]
    return {
        "turns": turns.to(device),
        "turn_lens": turn_lens.to(device),
        "rows": rows.to(device),
        **_decoder_tensors(replies, device),
    }


def dialogue_batches(chunks: list[DialogueChunk], max_targets: int, seed: int) -> list[list[DialogueChunk]]:
    """Shuffle, sort pools by length, then fill each batch up to about ``max_targets`` replies."""
    rng = random.Random(seed)
    idx = list(range(len(chunks)))
    rng.shuffle(idx)
    pool = 400
    batches: list[list[DialogueChunk]] = []
    for start in range(0, len(idx), pool):
        part = sorted(idx[start : start + pool], key=lambda i: len(chunks[i].ctx))
        cur: list[DialogueChunk] = []
        n = 0
        for i in part:
            cur.append(chunks[i])
            n += chunks[i].n_targets
            if n >= max_targets:
                batches.append(cur)
                cur, n = [], 0
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches
