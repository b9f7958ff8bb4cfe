"""Batched greedy and beam search over a step function, with per-word attention maps.

Everything is tensor work: the ``B*K`` beams of ``B`` inputs advance in one ``step_fn`` call per
word, and selection, reordering, n-gram blocking and the finished-hypothesis pool are batched
(no Python loop over beams or inputs). Callers reach it through
:func:`engine.decoding.decode_batch`, beside the per-input decoders there (the captioner does):

``step_fn(tokens (N,), state) -> (logprobs (N, V), state, attn (N, S))`` where every tensor in
``state`` (a flat dict) is batch-first and is reordered by ``index_select`` on dim 0. Beams of
input ``b`` are rows ``b*K .. b*K+K-1``. Options are :class:`engine.decoding.DecodeOptions`
(``beam_size``, ``max_len``, ``min_len``, ``length_penalty`` (GNMT alpha), ``block_ngram``,
``ban_unk``, ``repetition_penalty``); ``no_repeat`` additionally marks words that may appear only
once per caption (content words: "a man wearing a black hat and hat" becomes impossible).

Search is fairseq-style: each step takes the best ``2K`` continuations by summed log-prob; those
ending in ``<end>`` enter a per-input pool of the ``K`` best finished hypotheses (ranked by
length-normalised score), the best ``K`` others continue. An input stops when no live beam can
beat its pool. With ``beam_size=1`` and ``length_penalty=0`` this is exactly greedy search.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

NEG = float("-inf")


@dataclass
class Hyp:
    tokens: list[int]  # generated ids, <end> excluded
    logprob: float  # sum of log-probabilities (incl. <end> when finished)
    score: float  # logprob / GNMT length penalty: what hypotheses are ranked by
    attention: Tensor  # (len(tokens), S) attention weights used to produce each word
    finished: bool  # ended with <end> (False: reached max_len)


def length_penalty(lengths: Tensor, alpha: float) -> Tensor:
    """GNMT: ``((5 + len) / 6) ** alpha``; 1 when ``alpha == 0``."""
    return ((5.0 + lengths.float()) / 6.0) ** alpha


def score_dtype(device: torch.device) -> torch.dtype:
    """Summed log-probabilities in float64 (no ties by rounding), float32 on MPS (no float64 there)."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def adjust_logprobs(
    logp: Tensor,
    hist: Tensor,
    seen: Tensor | None,
    opts,
    eos: int,
    unk: int | None,
    no_repeat: Tensor | None,
    ban: tuple[int, ...] = (),
) -> Tensor:
    """Normalise ``logp (N, V)`` (log-probs or logits) with log-softmax, then apply bans and penalties
    given the history ``hist (N, t)``. Banned words get -inf; the others keep the model's
    log-probabilities (no renormalisation), so scores stay the model's. ``ban`` lists ids never
    generated (e.g. ``<pad>``, ``<start>``)."""
    logp = torch.log_softmax(logp.float(), dim=-1)
    t = hist.shape[1]
    if ban:
        logp[:, list(ban)] = NEG
    if seen is not None and opts.repetition_penalty != 1.0:
        logp = torch.where(seen, logp * opts.repetition_penalty, logp)  # log-probs are <= 0
    if opts.ban_unk and unk is not None:
        logp[:, unk] = NEG
    if t < opts.min_len:
        logp[:, eos] = NEG
    n = int(opts.block_ngram)
    if n > 0 and t >= n:
        windows = hist.unfold(1, n, 1)  # (N, t-n+1, n)
        match = (windows[:, :, : n - 1] == hist[:, t - n + 1 :].unsqueeze(1)).all(-1)  # (N, W)
        hits = torch.zeros_like(logp).scatter_add_(1, windows[:, :, n - 1], match.float())
        logp = logp.masked_fill(hits > 0, NEG)
    if seen is not None and no_repeat is not None:
        logp = logp.masked_fill(seen & no_repeat.unsqueeze(0), NEG)
    dead = torch.isinf(logp).all(-1)  # nothing allowed: end the caption rather than produce NaN
    if bool(dead.any()):
        logp[dead, eos] = 0.0
    return logp


def _reorder(state: dict[str, Tensor], index: Tensor) -> dict[str, Tensor]:
    return {k: v.index_select(0, index) for k, v in state.items()}


def greedy_search(
    step_fn,
    state: dict[str, Tensor],
    *,
    batch: int,
    bos: int,
    eos: int,
    options,
    unk: int | None = None,
    no_repeat: Tensor | None = None,
    ban: tuple[int, ...] = (),
) -> list[Hyp]:
    """Best word at each step for each of ``batch`` inputs (``state`` rows: one per input)."""
    device = next(iter(state.values())).device
    tokens = torch.full((batch,), bos, dtype=torch.long, device=device)
    hist = torch.empty(batch, 0, dtype=torch.long, device=device)
    seen = None
    track = no_repeat is not None or options.repetition_penalty != 1.0
    logprob = torch.zeros(batch, dtype=score_dtype(device), device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, dtype=torch.long, device=device)
    attns: list[Tensor] = []
    with torch.no_grad():
        for _ in range(options.max_len):
            logp, state, attn = step_fn(tokens, state)
            if track and seen is None:
                seen = torch.zeros(logp.shape, dtype=torch.bool, device=device)
            logp = adjust_logprobs(logp, hist, seen, options, eos, unk, no_repeat, ban)
            nxt = logp.argmax(-1)  # (B,)
            logprob = logprob + torch.where(
                done, torch.zeros_like(logprob), logp.gather(1, nxt[:, None])[:, 0]
            )
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            attns.append(attn.float())
            lengths = lengths + (~done & (nxt != eos)).long()
            done = done | (nxt == eos)
            hist = torch.cat([hist, nxt[:, None]], 1)
            if seen is not None:
                seen = seen.scatter(1, nxt[:, None], True)
            tokens = nxt
            if bool(done.all()):
                break
    att = torch.stack(attns, 1).cpu()  # (B, t, S)
    lp = length_penalty(lengths, options.length_penalty).cpu()
    out = []
    for b, (n, lpr, fin) in enumerate(zip(lengths.tolist(), logprob.cpu().tolist(), done.tolist())):
        out.append(Hyp(hist[b, :n].tolist(), lpr, lpr / float(lp[b]), att[b, :n], bool(fin)))
    return out


def beam_search(
    step_fn,
    state: dict[str, Tensor],
    *,
    batch: int,
    bos: int,
    eos: int,
    options,
    unk: int | None = None,
    no_repeat: Tensor | None = None,
    ban: tuple[int, ...] = (),
    n_best: int | None = None,
) -> list[list[Hyp]]:
    """Beam search for ``batch`` inputs; ``state`` rows are already ``batch * beam_size`` (beams of
    one input adjacent). Returns, per input, up to ``n_best`` (default ``beam_size``) hypotheses,
    best first."""
    K = int(options.beam_size)
    B, N = batch, batch * K
    n_best = n_best or K
    alpha = float(options.length_penalty)
    device = next(iter(state.values())).device
    acc = score_dtype(device)
    base = (torch.arange(B, device=device) * K).unsqueeze(1)  # (B, 1)
    tokens = torch.full((N,), bos, dtype=torch.long, device=device)
    scores = torch.full((B, K), NEG, dtype=acc, device=device)
    scores[:, 0] = 0.0  # one live beam per input at the start (no duplicates)
    hist = torch.empty(N, 0, dtype=torch.long, device=device)
    att_hist: Tensor | None = None  # (N, t, S)
    seen = None
    track = no_repeat is not None or options.repetition_penalty != 1.0
    # pool of finished hypotheses per input (B, K): normalised score, raw log-prob, length, rows
    pool_score = torch.full((B, K), NEG, dtype=acc, device=device)
    pool_raw = torch.full((B, K), NEG, dtype=acc, device=device)
    pool_len = torch.zeros(B, K, dtype=torch.long, device=device)
    pool_tok = torch.zeros(B, K, options.max_len, dtype=torch.long, device=device)
    pool_att: Tensor | None = None  # (B, K, max_len, S)
    t = 0
    with torch.no_grad():
        for t in range(options.max_len):
            logp, state, attn = step_fn(tokens, state)  # (N, V), state, (N, S)
            V, S = logp.shape[1], attn.shape[1]
            if track and seen is None:
                seen = torch.zeros(N, V, dtype=torch.bool, device=device)
            if pool_att is None:
                pool_att = torch.zeros(B, K, options.max_len, S, device=device)
                att_hist = torch.zeros(N, 0, S, device=device)
            logp = adjust_logprobs(logp, hist, seen, options, eos, unk, no_repeat, ban)
            cand = (scores.reshape(N, 1) + logp.to(acc)).reshape(B, K * V)  # (B, K*V) summed log-probs
            top_raw, top_idx = cand.topk(min(2 * K, K * V), dim=1)  # (B, 2K)
            top_src = base + top_idx // V  # (B, 2K) flat beam rows
            top_tok = top_idx % V
            is_eos = top_tok == eos
            new_hist = torch.cat([hist, torch.zeros(N, 1, dtype=torch.long, device=device)], 1)
            step_att = torch.cat([att_hist, attn.float().unsqueeze(1)], 1)  # (N, t+1, S)
            # -- finished candidates join the pool (length = t words, <end> not counted) --------------
            # (only an <end> ranked within the top K counts, as in Hugging Face: K=1 is greedy)
            rank = torch.arange(top_raw.shape[1], device=device).unsqueeze(0)  # (1, 2K)
            fin = is_eos & (rank < K)
            if bool(fin.any()):  # most steps finish nothing: skip the pool bookkeeping
                fin_score = torch.where(fin, top_raw / length_penalty(torch.tensor(t), alpha), NEG)
                all_score = torch.cat([pool_score, fin_score], 1)  # (B, 3K)
                keep_score, keep = all_score.topk(K, dim=1)  # (B, K)
                from_new = keep >= K
                new_j = (keep - K).clamp(min=0)
                src_rows = top_src.gather(1, new_j)  # (B, K) beam rows of newly finished
                pool_raw = torch.where(
                    from_new, top_raw.gather(1, new_j), pool_raw.gather(1, keep.clamp(max=K - 1))
                )
                pool_len = torch.where(
                    from_new, torch.full_like(pool_len, t), pool_len.gather(1, keep.clamp(max=K - 1))
                )
                old_tok = pool_tok.gather(1, keep.clamp(max=K - 1).unsqueeze(-1).expand_as(pool_tok))
                cand_tok = torch.zeros_like(pool_tok)
                cand_tok[:, :, :t] = hist[src_rows.reshape(-1)].reshape(B, K, t)
                pool_tok = torch.where(from_new.unsqueeze(-1), cand_tok, old_tok)
                idx4 = keep.clamp(max=K - 1)[:, :, None, None].expand_as(pool_att)
                old_att = pool_att.gather(1, idx4)
                cand_att = torch.zeros_like(pool_att)
                cand_att[:, :, :t] = step_att[src_rows.reshape(-1), :t].reshape(B, K, t, S)
                pool_att = torch.where(from_new[:, :, None, None], cand_att, old_att)
                pool_score = keep_score
            # -- the best K non-finished candidates continue -------------------------------------------
            order = torch.argsort(is_eos.long() * (2 * K + 1) + rank, dim=1)[:, :K]  # non-eos first
            scores = top_raw.gather(1, order).masked_fill(is_eos.gather(1, order), NEG)  # (B, K)
            src = top_src.gather(1, order).reshape(N)
            tok = top_tok.gather(1, order).reshape(N)
            state = _reorder(state, src)
            new_hist = new_hist[src]
            new_hist[:, t] = tok
            hist = new_hist
            att_hist = step_att[src]
            if seen is not None:
                seen = seen[src].scatter(1, tok[:, None], True)
            tokens = tok
            # -- stop when no live beam can beat the worst pooled hypothesis -----------------------------
            best_live = scores.max(1).values  # (B,)
            bound = best_live / (length_penalty(torch.tensor(options.max_len), alpha) if alpha > 0 else 1.0)
            done = (pool_score[:, -1] > NEG) & (pool_score[:, -1] >= bound) | (best_live == NEG)
            if bool(done.all()):
                break
    return _collect(
        B, K, n_best, alpha, pool_score, pool_raw, pool_len, pool_tok, pool_att, scores, hist, att_hist
    )


def _collect(
    B, K, n_best, alpha, pool_score, pool_raw, pool_len, pool_tok, pool_att, scores, hist, att_hist
) -> list[list[Hyp]]:
    """Finished pool + (if needed) unfinished live beams -> per-input hypotheses, best first."""
    pool_score, pool_raw, pool_len = pool_score.cpu(), pool_raw.cpu(), pool_len.cpu()
    pool_tok, pool_att = pool_tok.cpu(), pool_att.cpu()
    scores, hist, att_hist = scores.cpu(), hist.cpu(), att_hist.cpu()
    T = hist.shape[1]
    live_norm = scores / length_penalty(torch.tensor(T), alpha)
    results = []
    for b in range(B):
        hyps: list[Hyp] = []
        for k in range(K):
            if pool_score[b, k] > NEG:
                n = int(pool_len[b, k])
                hyps.append(
                    Hyp(
                        pool_tok[b, k, :n].tolist(),
                        float(pool_raw[b, k]),
                        float(pool_score[b, k]),
                        pool_att[b, k, :n].clone(),
                        True,
                    )
                )
        if len(hyps) < n_best:
            for k in range(K):
                if scores[b, k] > NEG:
                    r = b * K + k
                    hyps.append(
                        Hyp(
                            hist[r].tolist(),
                            float(scores[b, k]),
                            float(live_norm[b, k]),
                            att_hist[r].clone(),
                            False,
                        )
                    )
        hyps.sort(key=lambda h: h.score, reverse=True)
        results.append(hyps[:n_best])
    return results
