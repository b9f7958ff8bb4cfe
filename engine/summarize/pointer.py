"""Pointer-generator with coverage (See, Liu and Manning 2017), the abstractive summarizer's network.

A bidirectional GRU reads the source pieces; an LSTM decoder with input feeding attends over them
(additive attention, Bahdanau form, with the coverage vector as an extra input to the scorer).
Each step mixes two distributions with a learned gate p_gen:

    P(w) = p_gen * P_vocab(w) + (1 - p_gen) * sum_{i: x_i = w} a_i

so the decoder can copy any source piece (names, numbers) it could not otherwise produce.
Coverage c_t = sum_{t' < t} a_t' is fed to the attention, and the loss adds
lambda * sum_i min(a_t,i, c_t,i), which punishes attending to the same place twice (repetition).

The tokenizer is sentencepiece, so every word is in the vocabulary as pieces; copying works on
pieces and needs no extended vocabulary. Decoding goes through ``engine.decoding`` (``step``
returns log-probabilities of the mixed distribution and the attention of the step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

KIND = "parlance-summarizer"
SCHEMA_VERSION = 1


@dataclass
class PointerConfig:
    vocab_size: int = 8000  # sentencepiece pieces (incl. specials)
    emb_dim: int = 128  # piece embedding size (shared by encoder, decoder and nothing else)
    enc_hidden: int = 192  # GRU size per direction
    dec_hidden: int = 256  # LSTM decoder size
    attn_dim: int = 256  # additive attention hidden size
    dropout: float = 0.3  # on embeddings and before the output layer
    pointer: bool = True  # copy mechanism (False: plain attention seq2seq, for ablation)
    coverage: bool = True  # coverage vector in the attention and the coverage loss
    cov_weight: float = 1.0  # lambda of the coverage loss
    max_source: int = 160  # source pieces read (the lead of the article)
    max_target: int = 24  # longest generated summary in pieces
    task_prefix: bool = False  # the source starts with a task piece (headline vs denoising training)

    def validate(self) -> None:
        for name in ("vocab_size", "emb_dim", "enc_hidden", "dec_hidden", "attn_dim", "max_source"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")


class PointerGenerator(nn.Module):
    def __init__(self, cfg: PointerConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        e, h, d, a = cfg.emb_dim, cfg.enc_hidden, cfg.dec_hidden, cfg.attn_dim
        self.embed = nn.Embedding(cfg.vocab_size, e, padding_idx=0)
        self.encoder = nn.GRU(e, h, batch_first=True, bidirectional=True)
        self.init_h = nn.Linear(2 * h, d)
        self.init_c = nn.Linear(2 * h, d)
        self.cell = nn.LSTMCell(e + 2 * h, d)  # input feeding: previous context with the piece
        self.attn_enc = nn.Linear(2 * h, a, bias=False)
        self.attn_dec = nn.Linear(d, a)
        self.attn_cov = nn.Linear(1, a, bias=False)
        self.attn_v = nn.Linear(a, 1, bias=False)
        self.out_hidden = nn.Linear(d + 2 * h, d)
        self.out = nn.Linear(d, cfg.vocab_size)
        self.gen_gate = nn.Linear(2 * h + d + e, 1)
        self.drop = nn.Dropout(cfg.dropout)

    # ------------------------------------------------------------------------------- encoder
    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> dict:
        """``src`` (B, S) piece ids (0-padded), ``lengths`` (B,) -> the decoder's initial state."""
        emb = self.drop(self.embed(src))
        packed = nn.utils.rnn.pack_padded_sequence(
            emb, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, last = self._run_encoder(packed)
        enc, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        final = torch.cat([last[0], last[1]], dim=-1)
        b = src.size(0)
        return {
            "h": torch.tanh(self.init_h(final)),
            "c": self.init_c(final),
            "ctx": enc.new_zeros(b, enc.size(-1)),
            "cov": enc.new_zeros(b, src.size(1)),
            "enc": enc,
            "enc_proj": self.attn_enc(enc),
            "mask": src != 0,
            "src": src,
        }

    def _run_encoder(self, packed):
        """The GRU. Under CUDA bf16 autocast torch would run it in fp16 (its autocast rule for cuDNN
        RNNs hard-codes half precision; no GradScaler here): there it runs in its weights' dtype,
        as :class:`engine.nn.recurrent.Recurrent` does."""
        w = self.encoder.weight_ih_l0
        if (
            w.is_cuda
            and torch.is_autocast_enabled("cuda")
            and torch.get_autocast_dtype("cuda") == torch.bfloat16
        ):
            with torch.autocast("cuda", enabled=False):
                return self.encoder(packed.to(w.dtype))
        return self.encoder(packed)

    # ------------------------------------------------------------------------------- one step
    def _step(self, tokens: torch.Tensor, state: dict):
        """One decoder step. Returns (probabilities (B, V), new state, attention (B, S),
        coverage loss (B,), p_gen (B,))."""
        x = self.drop(self.embed(tokens))
        h, c = self.cell(torch.cat([x, state["ctx"]], dim=-1), (state["h"], state["c"]))
        feats = state["enc_proj"] + self.attn_dec(h).unsqueeze(1)
        if self.cfg.coverage:
            feats = feats + self.attn_cov(state["cov"].unsqueeze(-1))
        scores = self.attn_v(torch.tanh(feats)).squeeze(-1)
        scores = scores.masked_fill(~state["mask"], torch.finfo(scores.dtype).min)
        attn = torch.softmax(scores, dim=-1)
        ctx = torch.bmm(attn.unsqueeze(1), state["enc"]).squeeze(1)
        hidden = self.drop(torch.tanh(self.out_hidden(torch.cat([h, ctx], dim=-1))))
        p_vocab = torch.softmax(self.out(hidden), dim=-1)
        if self.cfg.pointer:
            p_gen = torch.sigmoid(self.gen_gate(torch.cat([ctx, h, x], dim=-1)))
            probs = (p_gen * p_vocab).scatter_add(1, state["src"], (1.0 - p_gen) * attn)
            p_gen = p_gen.squeeze(-1)
        else:
            probs, p_gen = p_vocab, torch.ones_like(attn[:, 0])
        cov_loss = torch.minimum(attn, state["cov"]).sum(-1)
        new = dict(state)
        new.update(h=h, c=c, ctx=ctx, cov=state["cov"] + attn)
        return probs, new, attn, cov_loss, p_gen

    def step(self, tokens: torch.Tensor, state: dict):
        """The ``engine.decoding`` step: log-probabilities, new state, ``{"source": attention,
        "p_gen": gate}`` (the gate as a (N, 1) weight so it travels with the beams)."""
        probs, new, attn, _, p_gen = self._step(tokens, state)
        return torch.log(probs.clamp_min(1e-12)), new, {"source": attn, "p_gen": p_gen.unsqueeze(-1)}

    # ------------------------------------------------------------------------------- training
    def forward(self, src, lengths, tgt_in, tgt_out) -> tuple[torch.Tensor, dict]:
        """Mean negative log-likelihood per target piece (+ coverage loss); ``tgt_out`` is 0-padded.

        Returns the loss to minimise and parts for logging: ``nll`` and ``coverage`` (per piece).
        """
        state = self.encode(src, lengths)
        mask = tgt_out != 0
        nll, cov = [], []
        for t in range(tgt_in.size(1)):
            probs, state, _, cov_t, _ = self._step(tgt_in[:, t], state)
            gold = probs.gather(1, tgt_out[:, t : t + 1]).squeeze(1)
            nll.append(-torch.log(gold.clamp_min(1e-12)))
            cov.append(cov_t)
        n = mask.sum().clamp(min=1)
        nll_mean = (torch.stack(nll, 1) * mask).sum() / n
        cov_mean = (torch.stack(cov, 1) * mask).sum() / n
        weight = self.cfg.cov_weight if self.cfg.coverage else 0.0
        return nll_mean + weight * cov_mean, {"nll": nll_mean.detach(), "coverage": cov_mean.detach()}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def batch_tensors(pairs: list[tuple[list[int], list[int]]], bos: int, eos: int, device="cpu") -> dict:
    """(source ids, target ids) pairs -> padded tensors: src, lengths, tgt_in (BOS + y), tgt_out
    (y + EOS)."""
    b = len(pairs)
    s = max(1, max(len(p[0]) for p in pairs))
    t = max(len(p[1]) for p in pairs) + 1
    src = torch.zeros(b, s, dtype=torch.long)
    tgt_in = torch.zeros(b, t, dtype=torch.long)
    tgt_out = torch.zeros(b, t, dtype=torch.long)
    lengths = torch.zeros(b, dtype=torch.long)
    for i, (x, y) in enumerate(pairs):
        src[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        lengths[i] = max(len(x), 1)
        tgt_in[i, : len(y) + 1] = torch.tensor([bos, *y], dtype=torch.long)
        tgt_out[i, : len(y) + 1] = torch.tensor([*y, eos], dtype=torch.long)
    return {
        k: v.to(device) for k, v in dict(src=src, lengths=lengths, tgt_in=tgt_in, tgt_out=tgt_out).items()
    }
