"""Show, Attend and Tell decoder (Xu et al. 2015): an LSTM with soft attention over image regions.

Per word: ``α_t = softmax(v·tanh(W_q h_{t-1} + W_k a_i))`` over the regions ``a_i``,
``z_t = β_t Σ_i α_ti a_i`` with the gating scalar ``β_t = σ(f_β(h_{t-1}))``,
``h_t, c_t = LSTM([E y_{t-1}; z_t], (h_{t-1}, c_{t-1}))``, logits ``= W_o dropout(h_t)``.
``h_0, c_0`` come from the mean region. The attention scorer is :class:`engine.nn.attention.Attention`
(additive); its key projection is computed once per image rather than once per word.

With ``attention=False`` (the ablation) the context is the mean region at every step and the
"attention" reported is uniform.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.caption.config import CaptionerConfig
from engine.nn.attention import Attention, masked_softmax

__all__ = ["AttentionDecoder", "CaptionerConfig"]


class AttentionDecoder(nn.Module):
    """Regions ``(B, S, feature_dim)`` + caption prefixes -> next-word logits and attention."""

    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        if cfg.vocab_size < 5:
            raise ValueError(f"vocab_size must be >= 5 (4 specials + words), got {cfg.vocab_size}")
        self.cfg = cfg
        r = cfg.region_dim or cfg.feature_dim
        self.project = nn.Linear(cfg.feature_dim, r) if cfg.region_dim else nn.Identity()
        self.region_drop = nn.Dropout(cfg.dropout / 2)
        self.attend = (
            Attention(cfg.hidden_dim, r, score="additive", attn_dim=cfg.attn_dim) if cfg.attention else None
        )
        self.init_h = nn.Linear(r, cfg.hidden_dim)
        self.init_c = nn.Linear(r, cfg.hidden_dim)
        self.f_beta = nn.Linear(cfg.hidden_dim, r) if cfg.gate else None
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim, padding_idx=0)
        self.lstm = nn.LSTMCell(cfg.embed_dim + r, cfg.hidden_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.hidden_dim, cfg.vocab_size)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.uniform_(self.out.weight, -0.1, 0.1)
        nn.init.zeros_(self.out.bias)

    # ---- shared pieces ---------------------------------------------------------------------------
    def prepare(self, features: Tensor) -> dict[str, Tensor]:
        """Per-image tensors computed once: regions ``(B, S, R)``, their attention keys ``(B, S, A)``,
        and the initial ``h``, ``c`` ``(B, H)``."""
        regions = self.region_drop(F.relu(self.project(features)) if self.cfg.region_dim else features)
        mean = regions.mean(dim=1)  # (B, R)
        keys = self.attend.scorer.W_k(regions) if self.attend is not None else regions[..., :0]  # (B, S, A)
        return {
            "regions": regions,
            "keys": keys,
            "mean": mean,
            "h": torch.tanh(self.init_h(mean)),
            "c": torch.tanh(self.init_c(mean)),
        }

    def context(self, h: Tensor, regions: Tensor, keys: Tensor, mean: Tensor) -> tuple[Tensor, Tensor]:
        """``h (N, H)`` over ``regions (N, S, R)`` -> gated context ``(N, R)``, weights ``(N, S)``."""
        if self.attend is not None:
            q = self.attend.scorer.W_q(h).unsqueeze(1)  # (N, 1, A)
            scores = self.attend.scorer.v(torch.tanh(q + keys)).squeeze(-1)  # (N, S)
            alpha = masked_softmax(scores, None)  # (N, S)
            ctx = torch.bmm(alpha.unsqueeze(1), regions).squeeze(1)  # (N, R)
        else:
            alpha = regions.new_full(regions.shape[:2], 1.0 / regions.shape[1])  # (N, S) uniform
            ctx = mean
        if self.f_beta is not None:
            ctx = torch.sigmoid(self.f_beta(h)) * ctx  # gating scalar per channel, as in the paper
        return ctx, alpha

    def _cell(self, words: Tensor, h: Tensor, c: Tensor, regions: Tensor, keys: Tensor, mean: Tensor):
        ctx, alpha = self.context(h, regions, keys, mean)
        h, c = self.lstm(torch.cat([words, ctx], dim=-1), (h, c))  # (N, H) each
        return h, c, alpha

    # ---- teacher forcing -------------------------------------------------------------------------
    def forward(
        self,
        features: Tensor,
        tokens: Tensor,
        image_index: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Teacher-forced decoding.

        features: ``(B, S, feature_dim)`` regions of B images; tokens: ``(N, T+1)`` ids
        ``<start> w.. <end> <pad>..``; image_index: ``(N,)`` image row of each caption (default:
        caption i <-> image i); lengths: ``(N,)`` real lengths incl. <start>/<end> (default: up to
        the last non-pad). Returns logits ``(N, T, V)`` predicting ``tokens[:, 1:]`` (padding rows
        are zero) and attention weights ``(N, T, S)`` (zero after a caption ends).
        """
        N, T1 = tokens.shape
        T = T1 - 1
        if image_index is None:
            image_index = torch.arange(N, device=tokens.device)
        if lengths is None:
            lengths = (tokens != 0).sum(1)
        steps = (lengths - 1).clamp(min=0, max=T)  # (N,) words to predict per caption
        order = torch.argsort(steps, descending=True, stable=True)  # longest first: active = prefix
        inv = torch.empty_like(order)
        inv[order] = torch.arange(N, device=order.device)
        prep = self.prepare(features)
        idx = image_index[order]
        regions, keys, mean = prep["regions"][idx], prep["keys"][idx], prep["mean"][idx]  # (N, S, *)
        h, c = prep["h"][idx], prep["c"][idx]  # (N, H)
        emb = self.embed(tokens[order, :T])  # (N, T, E)
        active = [
            int(n)
            for n in (steps[order].unsqueeze(0) > torch.arange(T, device=tokens.device).unsqueeze(1))
            .sum(1)
            .tolist()
        ]  # captions still running at step t
        outs, alphas = [], []
        for t in range(T):
            n = active[t]
            if n == 0:
                break
            h, c, alpha = self._cell(emb[:n, t], h[:n], c[:n], regions[:n], keys[:n], mean[:n])
            outs.append(h)
            alphas.append(alpha)
        packed = self.out(self.drop(torch.cat(outs)))  # (P, V), P = sum of active counts
        rows = torch.cat([torch.arange(o.shape[0], device=tokens.device) for o in outs])  # (P,)
        cols = torch.cat([torch.full((o.shape[0],), t, device=tokens.device) for t, o in enumerate(outs)])
        logits = packed.new_zeros(N, T, packed.shape[-1])
        logits = logits.index_put((rows, cols), packed)  # (N, T, V), sorted order
        # the weights' own dtype: under CUDA autocast the softmax gives fp32 while ``packed`` is bf16
        alpha = torch.cat(alphas)  # (P, S)
        attn = alpha.new_zeros(N, T, features.shape[1])
        attn = attn.index_put((rows, cols), alpha)  # (N, T, S)
        return logits[inv], attn[inv]

    # ---- one step, for search --------------------------------------------------------------------
    def start(self, features: Tensor, repeat: int = 1) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``features (B, S, D)`` -> (static per-row tensors, initial state ``{h, c}``), each row
        repeated ``repeat`` times (beams of one image are adjacent: row ``b*K + k``)."""
        prep = self.prepare(features)
        rep = {k: v.repeat_interleave(repeat, dim=0) for k, v in prep.items()}
        static = {"regions": rep["regions"], "keys": rep["keys"], "mean": rep["mean"]}
        return static, {"h": rep["h"], "c": rep["c"]}

    def step(self, tokens: Tensor, state: dict[str, Tensor], static: dict[str, Tensor]):
        """``tokens (N,)`` previous words -> log-probs ``(N, V)``, new state, attention ``(N, S)``."""
        words = self.embed(tokens)  # (N, E)
        h, c, alpha = self._cell(
            words, state["h"], state["c"], static["regions"], static["keys"], static["mean"]
        )
        logp = torch.log_softmax(self.out(self.drop(h)), dim=-1)  # (N, V); dropout only in train mode
        return logp, {"h": h, "c": c}, alpha
