"""Greedy, beam and sampling decoding, shared by every text generator.

A model exposes one step: ``step(tokens (N,), state) -> (logits (N, V), state, attn)`` where
every tensor in ``state`` (a dict, possibly nested) is batch-first, so beams are reordered by
indexing dim 0, and ``attn`` is a dict of per-step weights (each ``(N, S)``) or ``{}``.
Decoding returns :class:`Hypothesis` objects; the caller detokenises.

:func:`decode_batch` is the tensor-batched form for many inputs at once (greedy or beam search in
:mod:`engine.batch_search`, with per-word attention and content words that may not repeat): the
captioner decodes through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from engine.cancel import CancelToken

__all__ = ["DecodeOptions", "CancelToken", "Hypothesis", "decode", "decode_batch", "METHODS"]


MAX_BEAM = 64  # wider beams only cost memory and time (the app offers up to 16)
MAX_LEN = 2000  # generated tokens (the app offers up to 200)


@dataclass
class DecodeOptions:
    method: str = "greedy"  # "greedy" | "beam" | "sample"
    max_len: int = 40  # maximum generated tokens (EOS excluded)
    min_len: int = 1  # EOS is banned before this many tokens
    beam_size: int = 4  # beams kept per input (beam)
    length_penalty: float = 0.6  # GNMT alpha: score / ((5+len)/6)**alpha (beam)
    block_ngram: int = 3  # forbid repeating any n-gram of this size within a hypothesis; 0 = off
    ban_unk: bool = True  # never generate the UNK token
    temperature: float = 0.8  # softmax temperature (sample)
    top_k: int = 0  # keep the k most likely tokens; 0 = off (sample)
    top_p: float = 0.9  # nucleus: smallest set with cumulative probability >= p; 1.0 = off (sample)
    repetition_penalty: float = 1.2  # CTRL-style penalty on already generated tokens; 1.0 = off
    # taken off the logit (before temperature) of a token that would continue a pair of tokens - or
    # the opening - of one of the generator's own earlier outputs (``avoid`` of decode: a chat bot's
    # previous replies), so it does not say the same thing twice; soft, so a confident continuation
    # (the rest of a word split into pieces) still wins. Without ``avoid`` it does nothing; 0 = off
    self_repeat_penalty: float = 2.0
    seed: int | None = None  # sampling seed for reproducible output; None = random

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> DecodeOptions:
        """Options from a dict (None: the defaults); ValueError for anything else (a config.json's
        ``"default_decoding": "greedy"`` was an AttributeError)."""
        if d is not None and not isinstance(d, dict):
            raise ValueError(f"decoding options must be an object, not {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        opts = cls(**{k: v for k, v in (d or {}).items() if k in names})
        opts.validate()
        return opts

    def validate(self) -> None:
        """Types and ranges: options come from saved settings and conversations too, so a wrong
        type or a NaN is a ValueError here, not a crash deep inside decoding or a widget."""
        from engine.checkpoint import fits_default

        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "seed":  # (torch takes a 64-bit seed)
                ok = value is None or (fits_default(0, value) and 0 <= value < 2**63)
            else:  # the default's type; counts are not negative
                ok = fits_default(f.default, value) and not (type(f.default) is int and value < 0)
            if not ok:
                raise ValueError(f"decoding option {f.name} has a bad value: {value!r}")
        if not 0 < self.top_p <= 1 or self.repetition_penalty <= 0 or self.length_penalty < 0:
            raise ValueError("top_p must be in (0, 1], repetition_penalty > 0 and length_penalty >= 0")
        if self.method not in METHODS:
            raise ValueError(f"unknown decoding method {self.method!r}; known: {', '.join(METHODS)}")
        if self.max_len < 1 or self.beam_size < 1 or self.temperature <= 0:
            raise ValueError("max_len and beam_size must be >= 1 and temperature > 0")
        if self.beam_size > MAX_BEAM or self.max_len > MAX_LEN:  # a beam of 100,000 ran out of memory
            raise ValueError(f"beam_size can be at most {MAX_BEAM} and max_len at most {MAX_LEN}")
        if self.self_repeat_penalty < 0:
            raise ValueError("self_repeat_penalty must be >= 0 (0 = off)")


def banning(step, banned):
    """``step`` (a model's ``(tokens, state) -> (logp, state, …)``) with the ids ``banned`` (a long
    tensor on the model's device) never chosen."""

    def banned_step(tokens, state):
        logp, new_state, *rest = step(tokens, state)
        return (logp.index_fill(1, banned, -1e9), new_state, *rest)

    return banned_step


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length penalty ((5 + length) / 6) ** alpha: beam search ranks its candidates by their
    log-probability divided by it, so a longer candidate is not ruled out by its longer sum."""
    return ((5 + length) / 6) ** alpha


@dataclass
class Hypothesis:
    tokens: list[int]  # generated ids, EOS excluded
    score: float  # sum of log-probabilities (beam: before the length penalty)
    attn: dict = field(default_factory=dict)  # name -> list of per-step weight lists
    finished: bool = False  # ended with EOS (False: hit max_len or was cancelled)


# ---- logit processing --------------------------------------------------------------------------


def _banned_ngram_tokens(seq: list[int], n: int) -> set[int]:
    if n <= 0 or len(seq) < n - 1:
        return set()
    prefix = tuple(seq[len(seq) - n + 1 :]) if n > 1 else ()
    banned = set()
    for i in range(len(seq) - n + 1):
        if tuple(seq[i : i + n - 1]) == prefix:
            banned.add(seq[i + n - 1])
    return banned


START = -1  # the key of ``avoid_map`` for "nothing generated yet"


def avoid_map(avoid: list[list[int]] | None) -> dict[int, set[int]]:
    """Earlier outputs -> {previous token (START at the beginning) -> tokens that followed it}."""
    out: dict[int, set[int]] = {}
    for seq in avoid or []:
        for prev, nxt in zip([START, *seq[:-1]], seq):
            out.setdefault(prev, set()).add(nxt)
    return out


def _process(
    logits,
    seqs: list[list[int]],
    opts: DecodeOptions,
    eos: int,
    unk: int | None,
    avoid: dict[int, set[int]] | None = None,
):
    """Apply repetition penalties, UNK ban, min length and n-gram blocking; returns new logits."""
    import torch

    logits = logits.float().clone()
    neg = torch.finfo(logits.dtype).min
    if opts.ban_unk and unk is not None:
        logits[:, unk] = neg
    for i, seq in enumerate(seqs):
        if opts.repetition_penalty != 1.0 and seq:
            idx = torch.tensor(sorted(set(seq)), device=logits.device)
            vals = logits[i, idx]
            logits[i, idx] = torch.where(
                vals > 0, vals / opts.repetition_penalty, vals * opts.repetition_penalty
            )
        if avoid:  # decode() passes none when self_repeat_penalty is 0
            follow = avoid.get(seq[-1] if seq else START)
            if follow:
                logits[i, sorted(follow)] -= opts.self_repeat_penalty
        if len(seq) < opts.min_len:
            logits[i, eos] = neg
        banned = _banned_ngram_tokens(seq, opts.block_ngram)
        if banned:
            logits[i, list(banned)] = neg
    # an extreme penalty (1e-40) overflows to ±inf: keep every logit finite for the softmax
    return torch.nan_to_num(logits, nan=neg, posinf=torch.finfo(logits.dtype).max, neginf=neg)


def _reorder(state, index):
    if isinstance(state, dict):
        return {k: _reorder(v, index) for k, v in state.items()}
    if isinstance(state, (tuple, list)):
        return type(state)(_reorder(v, index) for v in state)
    if state is None:
        return None
    return state.index_select(0, index)


def _collect(attn_store: list[dict], attn: dict, rows) -> None:
    for store, row in zip(attn_store, rows):
        if row is None:
            continue
        for name, w in attn.items():
            store.setdefault(name, []).append(w[row].float().tolist())


# ---- greedy and sampling -----------------------------------------------------------------------


def _greedy_or_sample(
    step,
    state,
    batch: int,
    bos: int,
    eos: int,
    opts: DecodeOptions,
    unk,
    device,
    on_token,
    cancel: CancelToken | None,
    avoid: dict[int, set[int]] | None = None,
) -> list[Hypothesis]:
    import torch

    sampling = opts.method == "sample"
    gen = None
    if sampling and opts.seed is not None:
        gen = torch.Generator(device="cpu").manual_seed(opts.seed)
    tokens = torch.full((batch,), bos, dtype=torch.long, device=device)
    seqs: list[list[int]] = [[] for _ in range(batch)]
    scores = [0.0] * batch
    done = [False] * batch
    attn_store: list[dict] = [{} for _ in range(batch)]
    for _ in range(opts.max_len):
        if cancel is not None and cancel.cancelled:
            break
        logits, state, attn = step(tokens, state)
        logits = _process(logits, seqs, opts, eos, unk, avoid)
        logp = torch.log_softmax(logits, dim=-1)
        if sampling:
            # (the best logit subtracted first: a tiny temperature tends to greedy, not to inf - inf)
            probs = torch.softmax((logits - logits.max(-1, keepdim=True).values) / opts.temperature, -1)
            if opts.top_k:
                kth = torch.topk(probs, min(opts.top_k, probs.size(-1)), dim=-1).values[:, -1:]
                probs = torch.where(probs < kth, torch.zeros_like(probs), probs)
            if opts.top_p < 1.0:
                sp, si = torch.sort(probs, descending=True, dim=-1)
                cum = sp.cumsum(-1)
                drop = (cum - sp) > opts.top_p * cum[:, -1:]
                sp = sp.masked_fill(drop, 0.0)
                probs = torch.zeros_like(probs).scatter(-1, si, sp)
            nxt = torch.multinomial(probs.cpu() / probs.sum(-1, keepdim=True).cpu(), 1, generator=gen)
            nxt = nxt.squeeze(1).to(device)
        else:
            nxt = logp.argmax(-1)
        _collect(attn_store, attn, [i if not done[i] else None for i in range(batch)])
        for i in range(batch):
            if done[i]:
                continue
            t = int(nxt[i])
            scores[i] += float(logp[i, t])
            if t == eos:
                done[i] = True
                continue
            seqs[i].append(t)
            if on_token is not None and batch == 1:
                on_token(t)
        if all(done):
            break
        tokens = torch.where(torch.tensor(done, device=device), torch.full_like(nxt, eos), nxt)
    return [Hypothesis(seqs[i], scores[i], attn_store[i], done[i]) for i in range(batch)]


# ---- beam search -------------------------------------------------------------------------------


def _beam(
    step,
    state,
    batch: int,
    bos: int,
    eos: int,
    opts: DecodeOptions,
    unk,
    device,
    cancel: CancelToken | None,
    n_best: int,
    avoid: dict[int, set[int]] | None = None,
) -> list[list[Hypothesis]]:
    """Batched beam search: all B*K beams advance in one ``step`` call per token."""
    import torch

    K = opts.beam_size
    expand = torch.arange(batch, device=device).repeat_interleave(K)
    state = _reorder(state, expand)  # (B*K, ...)
    tokens = torch.full((batch * K,), bos, dtype=torch.long, device=device)
    beam_scores = torch.full((batch, K), float("-inf"), device=device)
    beam_scores[:, 0] = 0.0  # only the first beam is live at the start
    seqs: list[list[int]] = [[] for _ in range(batch * K)]
    attns: list[dict] = [{} for _ in range(batch * K)]
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]

    def penalty(length: int) -> float:
        return length_penalty(length, opts.length_penalty)

    for _ in range(opts.max_len):
        if cancel is not None and cancel.cancelled:
            break
        logits, state, attn = step(tokens, state)
        logits = _process(logits, seqs, opts, eos, unk, avoid)
        logp = torch.log_softmax(logits, dim=-1)  # (B*K, V)
        V = logp.size(-1)
        total = (beam_scores.view(-1, 1) + logp).view(batch, K * V)
        top_s, top_i = total.topk(min(2 * K, K * V), dim=-1)  # (B, 2K)
        new_src, new_tok, new_scores = [], [], []
        for b in range(batch):
            chosen = 0
            for s, idx in zip(top_s[b].tolist(), top_i[b].tolist()):
                if s == float("-inf"):
                    break
                src, tok = b * K + idx // V, idx % V
                if tok == eos:
                    if len(finished[b]) < K * 2:
                        h = Hypothesis(list(seqs[src]), s, _extend(attns[src], attn, src), True)
                        finished[b].append(h)
                    continue
                new_src.append(src)
                new_tok.append(tok)
                new_scores.append(s)
                chosen += 1
                if chosen == K:
                    break
            while chosen < K:  # pad with dead beams
                new_src.append(b * K)
                new_tok.append(eos)
                new_scores.append(float("-inf"))
                chosen += 1
        src_t = torch.tensor(new_src, device=device)
        state = _reorder(state, src_t)
        seqs = [seqs[s] + [tok] for s, tok in zip(new_src, new_tok)]
        attns = [_extend(attns[s], attn, s) for s in new_src]
        tokens = torch.tensor(new_tok, device=device)
        beam_scores = torch.tensor(new_scores, device=device).view(batch, K)
        # stop a batch row when its best finished hypothesis cannot be beaten
        all_done = True
        for b in range(batch):
            best_live = beam_scores[b].max().item()
            if finished[b]:
                best_fin = max(h.score / penalty(len(h.tokens)) for h in finished[b])
                bound = best_live / penalty(opts.max_len) if best_live < 0 else best_live
                if len(finished[b]) >= K and best_fin >= bound:
                    continue
            if best_live != float("-inf"):
                all_done = False
        if all_done:
            break
    results = []
    for b in range(batch):
        pool = list(finished[b])
        for k in range(K):
            s = float(beam_scores[b, k])
            if s != float("-inf"):
                pool.append(Hypothesis(seqs[b * K + k], s, attns[b * K + k], False))
        pool.sort(key=lambda h: h.score / penalty(len(h.tokens)), reverse=True)
        results.append(pool[:n_best])
    return results


def _extend(store: dict, attn: dict, row: int) -> dict:
    out = {k: list(v) for k, v in store.items()}
    for name, w in attn.items():
        out.setdefault(name, []).append(w[row].float().tolist())
    return out


METHODS = ("greedy", "beam", "sample")


def decode(
    step: Callable,
    state,
    *,
    batch: int,
    bos: int,
    eos: int,
    options: DecodeOptions,
    unk: int | None = None,
    device="cpu",
    on_token: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
    n_best: int = 1,
    avoid: list[list[int]] | None = None,
) -> list[list[Hypothesis]]:
    """Decode ``batch`` inputs. Returns, per input, up to ``n_best`` hypotheses (best first).

    ``on_token`` streams ids as they are chosen (greedy and sampling, batch 1); for beam search
    the best hypothesis is streamed once the search ends. ``avoid``: earlier outputs (token ids)
    that ``options.self_repeat_penalty`` steers away from, for every input of the batch.
    """
    import torch

    options.validate()
    amap = avoid_map(avoid) if options.self_repeat_penalty else None
    with torch.no_grad():
        if options.method == "beam":
            out = _beam(step, state, batch, bos, eos, options, unk, device, cancel, n_best, amap)
            if on_token is not None and batch == 1 and out[0]:
                for t in out[0][0].tokens:
                    on_token(t)
            return out
        hyps = _greedy_or_sample(step, state, batch, bos, eos, options, unk, device, on_token, cancel, amap)
        return [[h] for h in hyps]


def decode_batch(
    step_fn,
    state: dict,
    *,
    batch: int,
    bos: int,
    eos: int,
    options: DecodeOptions,
    unk: int | None = None,
    no_repeat=None,
    ban: tuple[int, ...] = (),
) -> list[list]:
    """Decode ``batch`` inputs at once with the all-tensor search of :mod:`engine.batch_search`.

    ``step_fn(tokens (N,), state) -> (logprobs (N, V), state, attn (N, S))`` over a flat,
    batch-first ``state`` of ``batch`` rows (greedy) or ``batch * beam_size`` rows (beam search;
    beams of input ``b`` are rows ``b*K .. b*K+K-1``). ``no_repeat`` (a ``(V,)`` bool tensor) marks
    words that may appear once per output; ``ban`` ids are never produced. Returns, per input, its
    hypotheses best first (:class:`engine.batch_search.Hyp`: tokens, log-prob, attention per word);
    greedy returns one. Sampling is not batched here: use :func:`decode`.
    """
    from engine.batch_search import beam_search, greedy_search

    if options.method == "sample":
        raise ValueError("decode_batch does greedy or beam search; sample with decode()")
    kwargs = dict(batch=batch, bos=bos, eos=eos, options=options, unk=unk, no_repeat=no_repeat, ban=ban)
    if options.method == "greedy":
        return [[h] for h in greedy_search(step_fn, state, **kwargs)]
    return beam_search(step_fn, state, **kwargs)
