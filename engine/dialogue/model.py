"""HRED with two-level attention (Serban et al. 2016; hierarchical attention after Xing et al. 2018).

- Utterance encoder: a bidirectional recurrent layer over the tokens of each context turn; its
  final states give one vector per turn, its outputs are the word-level attention keys.
- Context encoder: a unidirectional recurrent layer over the turn vectors; its outputs are the
  turn-level attention keys, its final state is the context vector.
- Decoder: starts from ``tanh(W · context)``, reads ``[embedding; context]`` at every step; its
  output attends to the words and to the turns (Luong style, after the recurrent step), and the
  attentional state ``tanh(W_c [c_word; c_turn; h])`` is projected onto the (tied) embeddings.

``hierarchical=False`` gives the flat baseline of the ablation: a seq2seq over the previous
utterance only, with word attention. Every tensor is batch-first; forward returns logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.dialogue.config import KIND, SCHEMA_VERSION, HREDConfig
from engine.nn.attention import Attention
from engine.nn.cells import is_lstm_like
from engine.nn.recurrent import Recurrent
from engine.text.tokenizer import BOS_ID, EOS_ID, PAD_ID


def _last_layer(h: Tensor | tuple, layers_dirs: int, dirs: int) -> Tensor:
    """Final state (L*D, B, H) [or pair] -> last layer, directions concatenated (B, D*H)."""
    if isinstance(h, tuple):
        h = h[0]
    return torch.cat([h[layers_dirs - dirs + d] for d in range(dirs)], dim=-1)


class HRED(nn.Module):
    def __init__(self, cfg: HREDConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        nn.init.normal_(self.embed.weight, std=0.1)  # small: the matrix is also the output layer
        with torch.no_grad():
            self.embed.weight[PAD_ID].zero_()
        self.utt_enc = Recurrent(cfg.cell, cfg.emb_dim, cfg.utt_hidden, bidirectional=True)
        utt_out = 2 * cfg.utt_hidden
        if cfg.hierarchical:
            self.ctx_enc = Recurrent(cfg.cell, utt_out, cfg.ctx_hidden)
        else:
            self.ctx_enc = None
            self.ctx_proj = nn.Linear(utt_out, cfg.ctx_hidden)
        self.init_proj = nn.Linear(cfg.ctx_hidden, cfg.dec_hidden * cfg.dec_layers)
        self.decoder = Recurrent(
            cfg.cell,
            cfg.emb_dim + cfg.ctx_hidden,
            cfg.dec_hidden,
            num_layers=cfg.dec_layers,
            dropout=cfg.dropout if cfg.dec_layers > 1 else 0.0,
        )
        self.use_word = cfg.word_attention
        self.use_turn = cfg.turn_attention and cfg.hierarchical
        combined = cfg.dec_hidden
        if self.use_word:
            self.word_attn = Attention(cfg.dec_hidden, utt_out, score=cfg.attention)
            combined += utt_out
        if self.use_turn:
            self.turn_attn = Attention(cfg.dec_hidden, cfg.ctx_hidden, score=cfg.attention)
            combined += cfg.ctx_hidden
        self.combine = nn.Linear(combined, cfg.dec_hidden)  # W_c of h~ = tanh(W_c [c; h])
        self.out_proj = nn.Linear(cfg.dec_hidden, cfg.emb_dim)
        self.out_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        if not cfg.tie_embeddings:
            self.out_embed = nn.Parameter(torch.randn(cfg.vocab_size, cfg.emb_dim) * 0.05)
        self.drop = nn.Dropout(cfg.dropout)

    # ---- encoding ---------------------------------------------------------------------------
    def encode(self, ctx: Tensor, ctx_lens: Tensor) -> dict:
        """ctx (B, N, L) token ids, ctx_lens (B, N) tokens per turn (0 = no turn; turns left-aligned).

        Returns a batch-first memory dict: context vector, attention keys and masks.
        """
        B, N, L = ctx.shape
        flat = ctx.view(B * N, L)  # (B*N, L)
        lens = ctx_lens.view(B * N).clamp(min=1)
        emb = self.drop(self.embed(flat))  # (B*N, L, E)
        outs, final = self.utt_enc(emb, lens.cpu())  # (B*N, L, 2Hu)
        utt_vec = _last_layer(final, 2, 2).view(B, N, -1)  # (B, N, 2Hu)
        turn_mask = ctx_lens > 0  # (B, N)
        n_turns = turn_mask.sum(1).clamp(min=1)  # (B,)
        if self.ctx_enc is not None:
            ctx_out, ctx_final = self.ctx_enc(utt_vec, n_turns.cpu())  # (B, N, Hc)
            context = _last_layer(ctx_final, 1, 1)  # (B, Hc)
        else:
            last = utt_vec[torch.arange(B, device=ctx.device), n_turns - 1]  # (B, 2Hu)
            context = torch.tanh(self.ctx_proj(last))  # (B, Hc)
            ctx_out = context.unsqueeze(1)
        word_mask = torch.arange(L, device=ctx.device).view(1, 1, L) < ctx_lens.unsqueeze(-1)
        return {
            "context": context,  # (B, Hc)
            "wkeys": outs.reshape(B, N * L, -1),  # (B, N*L, 2Hu)
            "wmask": word_mask.view(B, N * L),  # (B, N*L)
            "ukeys": ctx_out,  # (B, N, Hc)
            "umask": turn_mask if self.ctx_enc is not None else turn_mask[:, :1] | True,  # (B, N)
        }

    def init_decoder(self, mem: dict) -> Tensor | tuple[Tensor, Tensor]:
        B = mem["context"].shape[0]
        h0 = torch.tanh(self.init_proj(mem["context"])).view(B, self.cfg.dec_layers, -1)
        h0 = h0.transpose(0, 1).contiguous()  # (layers, B, Hd)
        if is_lstm_like(self.cfg.cell):
            return (h0, torch.zeros_like(h0))
        return h0

    # ---- output layer -----------------------------------------------------------------------
    def _attend_and_project(self, dec_out: Tensor, mem: dict, seq: bool):
        """dec_out (B, T, Hd) if seq else (B, Hd) -> logits and attention weights."""
        parts, attn = [], {}
        if self.use_word:
            fn = self.word_attn.forward_seq if seq else self.word_attn
            c, w = fn(dec_out, mem["wkeys"], mem["wmask"])
            parts.append(c)
            attn["word"] = w
        if self.use_turn:
            fn = self.turn_attn.forward_seq if seq else self.turn_attn
            c, w = fn(dec_out, mem["ukeys"], mem["umask"])
            parts.append(c)
            attn["turn"] = w
        h = torch.tanh(self.combine(torch.cat(parts + [dec_out], dim=-1)))  # (B, [T,] Hd)
        out = self.out_proj(self.drop(h))  # (B, [T,] E)
        weight = self.embed.weight if self.cfg.tie_embeddings else self.out_embed
        return F.linear(out, weight, self.out_bias), attn  # (B, [T,] V)

    # ---- training ---------------------------------------------------------------------------
    def forward(self, ctx: Tensor, ctx_lens: Tensor, dec_in: Tensor, dec_lens: Tensor) -> Tensor:
        """Teacher forcing. ctx (B,N,L), ctx_lens (B,N), dec_in (B,T) starting with BOS -> logits (B,T,V)."""
        mem = self.encode(ctx, ctx_lens)
        B, T = dec_in.shape
        emb = self.drop(self.embed(dec_in))  # (B, T, E)
        ctx_rep = mem["context"].unsqueeze(1).expand(B, T, -1)  # (B, T, Hc)
        dec_out, _ = self.decoder(torch.cat([emb, ctx_rep], -1), dec_lens.cpu(), self.init_decoder(mem))
        logits, _ = self._attend_and_project(dec_out, mem, seq=True)  # (B, T, V)
        return logits

    # ---- generation -------------------------------------------------------------------------
    def start_state(self, ctx: Tensor, ctx_lens: Tensor) -> dict:
        """Batch-first decoding state for engine.decoding (every tensor indexed by dim 0)."""
        mem = self.encode(ctx, ctx_lens)
        h = self.init_decoder(mem)
        state = dict(mem)
        if isinstance(h, tuple):
            state["h"], state["c"] = h[0].transpose(0, 1), h[1].transpose(0, 1)  # (B, layers, Hd)
        else:
            state["h"] = h.transpose(0, 1)
        return state

    def step(self, tokens: Tensor, state: dict):
        """tokens (B,) -> logits (B, V), new state, {"word": (B, S), "turn": (B, N)}."""
        emb = self.embed(tokens)  # (B, E)
        h = state["h"].transpose(0, 1).contiguous()  # (layers, B, Hd)
        rec = (h, state["c"].transpose(0, 1).contiguous()) if "c" in state else h
        out, rec = self.decoder.step(torch.cat([emb, state["context"]], -1), rec)  # (B, Hd)
        logits, attn = self._attend_and_project(out, state, seq=False)
        new = dict(state)
        if isinstance(rec, tuple):
            new["h"], new["c"] = rec[0].transpose(0, 1), rec[1].transpose(0, 1)
        else:
            new["h"] = rec.transpose(0, 1)
        return logits, new, attn


def sequence_loss(
    logits: Tensor, target: Tensor, weights: Tensor | None = None, label_smoothing: float = 0.0
) -> tuple[Tensor, int]:
    """Mean cross-entropy over non-PAD targets (optionally weighted per vocabulary id)."""
    V = logits.size(-1)
    flat_t = target.reshape(-1)
    nll = F.cross_entropy(
        logits.reshape(-1, V).float(),
        flat_t,
        ignore_index=PAD_ID,
        reduction="none",
        label_smoothing=label_smoothing,
    )
    mask = flat_t != PAD_ID
    n = int(mask.sum())
    if weights is not None:
        w = weights[flat_t] * mask
        return (nll * w).sum() / w.sum().clamp(min=1e-8), n
    return nll.sum() / max(n, 1), n


__all__ = ["HRED", "HREDConfig", "sequence_loss", "KIND", "SCHEMA_VERSION", "BOS_ID", "EOS_ID", "PAD_ID"]
