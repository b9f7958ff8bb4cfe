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
        self.history = cfg.history_turns > 0
        if self.history:
            self.speaker = nn.Embedding(2, utt_out)  # 0: the other person, 1: the replier
            nn.init.normal_(self.speaker.weight, std=0.1)
        if cfg.copy:
            self.gen_gate = nn.Linear(cfg.dec_hidden + utt_out + cfg.emb_dim, 1)  # p_gen
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
        pos = torch.arange(N, device=ctx.device).view(1, N)
        word_turns = turn_mask
        if self.history:  # speaker by position from the end: the last turn is the other person's
            who = (n_turns.view(B, 1) - 1 - pos).remainder(2)  # (B, N)
            utt_vec = utt_vec + self.speaker(who) * turn_mask.unsqueeze(-1)
            word_turns = turn_mask & (pos >= n_turns.view(B, 1) - self.cfg.context_turns)
        if self.ctx_enc is not None:
            ctx_out, ctx_final = self.ctx_enc(utt_vec, n_turns.cpu())  # (B, N, Hc)
            context = _last_layer(ctx_final, 1, 1)  # (B, Hc)
        else:
            last = utt_vec[torch.arange(B, device=ctx.device), n_turns - 1]  # (B, 2Hu)
            context = torch.tanh(self.ctx_proj(last))  # (B, Hc)
            ctx_out = context.unsqueeze(1)
        word_mask = torch.arange(L, device=ctx.device).view(1, 1, L) < ctx_lens.unsqueeze(-1)
        word_mask = word_mask & word_turns.unsqueeze(-1)
        return {
            "context": context,  # (B, Hc)
            "wkeys": outs.reshape(B, N * L, -1),  # (B, N*L, 2Hu)
            "wmask": word_mask.view(B, N * L),  # (B, N*L)
            "wids": ctx.reshape(B, N * L),  # (B, N*L) the pieces a copy can take
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
    def _attend_and_project(
        self,
        dec_out: Tensor,
        mem: dict,
        seq: bool,
        emb_in: Tensor | None = None,
        targets: Tensor | None = None,
    ):
        """dec_out (B, T, Hd) if seq else (B, Hd) -> logits and attention weights.

        With ``copy`` the "logits" are log-probabilities of the mixture
        ``p_gen · softmax(W h) + (1 - p_gen) · Σ_{s: x_s = w} α_s`` (``emb_in``: the embeddings
        of the input tokens, which the gate reads); every decoding rule works on them unchanged.
        Given ``targets`` (B, T), a copy model returns only ``log p(target)`` (B, T): the mixture
        is then never built over the whole vocabulary (training's cost stays that of plain CE)."""
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
        logits = F.linear(out, weight, self.out_bias)  # (B, [T,] V)
        if not self.cfg.copy:
            return logits, attn
        gate = self.gen_gate(torch.cat([h, parts[0], emb_in], dim=-1)).float()  # (B, [T,] 1)
        w = attn["word"].float()  # (B, [T,] S)
        ids = mem["wids"] if not seq else mem["wids"].unsqueeze(1).expand_as(w)
        if targets is not None:
            lp_gen = F.log_softmax(logits.float(), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            mass = (w * (ids == targets.unsqueeze(-1))).sum(-1)  # (B, T) attention on copies of y
            gen = F.logsigmoid(gate).squeeze(-1) + lp_gen
            return torch.logaddexp(gen, F.logsigmoid(-gate).squeeze(-1) + mass.clamp(min=1e-12).log()), attn
        copy = torch.zeros_like(logits, dtype=torch.float32).scatter_add_(-1, ids, w)
        mix = torch.stack(
            [
                F.logsigmoid(gate) + F.log_softmax(logits.float(), -1),
                F.logsigmoid(-gate) + copy.clamp(min=1e-12).log(),
            ]
        )
        return torch.logsumexp(mix, 0).to(logits.dtype), attn

    # ---- training ---------------------------------------------------------------------------
    def forward(
        self, ctx: Tensor, ctx_lens: Tensor, dec_in: Tensor, dec_lens: Tensor, targets: Tensor | None = None
    ) -> Tensor:
        """Teacher forcing. ctx (B,N,L), ctx_lens (B,N), dec_in (B,T) starting with BOS -> logits
        (B,T,V); for a copy model given ``targets`` (B,T), log p(target) (B,T) (see sequence_loss)."""
        mem = self.encode(ctx, ctx_lens)
        B, T = dec_in.shape
        emb = self.drop(self.embed(dec_in))  # (B, T, E)
        ctx_rep = mem["context"].unsqueeze(1).expand(B, T, -1)  # (B, T, Hc)
        dec_out, _ = self.decoder(torch.cat([emb, ctx_rep], -1), dec_lens.cpu(), self.init_decoder(mem))
        logits, _ = self._attend_and_project(dec_out, mem, seq=True, emb_in=emb, targets=targets)
        return logits  # (B, T, V) or (B, T)

    def forward_dialogues(
        self,
        turns: Tensor,
        turn_lens: Tensor,
        rows: Tensor,
        dec_in: Tensor,
        dec_lens: Tensor,
        targets: Tensor | None = None,
    ) -> Tensor:
        """Teacher forcing over whole dialogues (``history_turns`` models): each turn is encoded
        once and every later turn is a target. turns (D,M,L), turn_lens (D,M), rows (R,2) =
        (dialogue, target turn ≥ 1), dec_in (R,T) -> logits (R,T,V), equal to ``forward`` on the
        same targets with every earlier turn of the chunk as context."""
        assert self.history, "forward_dialogues needs a model with history_turns"
        D, M, L = turns.shape
        dev = turns.device
        emb = self.drop(self.embed(turns.view(D * M, L)))
        outs, final = self.utt_enc(emb, turn_lens.view(D * M).clamp(min=1).cpu())  # (D*M, L, 2Hu)
        utt_vec = _last_layer(final, 2, 2).view(D, M, -1)  # (D, M, 2Hu)
        outs = outs.view(D, M, L, -1)
        m = (turn_lens > 0).sum(1).clamp(min=1).cpu()
        pos = torch.arange(M, device=dev)
        ctx_by_parity = []
        for parity in (0, 1):  # the speaker of turn i seen from target t depends on t's parity only
            who = (parity - 1 - pos).remainder(2)  # (M,)
            out, _ = self.ctx_enc(utt_vec + self.speaker(who).unsqueeze(0), m)
            ctx_by_parity.append(out)  # (D, M, Hc)
        d, t = rows[:, 0], rows[:, 1]
        R = rows.shape[0]
        odd = (t % 2 == 1).view(R, 1, 1)
        ukeys = torch.where(odd, ctx_by_parity[1][d], ctx_by_parity[0][d])  # (R, M, Hc)
        context = ukeys[torch.arange(R, device=dev), t - 1]  # (R, Hc)
        K = self.cfg.context_turns
        j = t.view(R, 1) - K + torch.arange(K, device=dev).view(1, K)  # (R, K) last K turns
        valid = j >= 0
        jc = j.clamp(min=0)
        wlens = turn_lens[d.view(R, 1), jc] * valid  # (R, K)
        wmask = torch.arange(L, device=dev).view(1, 1, L) < wlens.unsqueeze(-1)
        mem = {
            "context": context,
            "wkeys": outs[d.view(R, 1), jc].reshape(R, K * L, -1),
            "wmask": wmask.view(R, K * L),
            "wids": turns[d.view(R, 1), jc].reshape(R, K * L),
            "ukeys": ukeys,
            "umask": pos.view(1, M) < t.view(R, 1),
        }
        T = dec_in.shape[1]
        emb_in = self.drop(self.embed(dec_in))
        ctx_rep = context.unsqueeze(1).expand(R, T, -1)
        dec_out, _ = self.decoder(torch.cat([emb_in, ctx_rep], -1), dec_lens.cpu(), self.init_decoder(mem))
        logits, _ = self._attend_and_project(dec_out, mem, seq=True, emb_in=emb_in, targets=targets)
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
        logits, attn = self._attend_and_project(out, state, seq=False, emb_in=emb)
        new = dict(state)
        if isinstance(rec, tuple):
            new["h"], new["c"] = rec[0].transpose(0, 1), rec[1].transpose(0, 1)
        else:
            new["h"] = rec.transpose(0, 1)
        return logits, new, attn


def sequence_loss(
    logits: Tensor, target: Tensor, weights: Tensor | None = None, label_smoothing: float = 0.0
) -> tuple[Tensor, int]:
    """Mean cross-entropy over non-PAD targets (optionally weighted per vocabulary id).

    ``logits`` (B,T,V), or (B,T) holding ``log p(target)`` already (a copy model given targets;
    label smoothing does not apply to those)."""
    flat_t = target.reshape(-1)
    mask = flat_t != PAD_ID
    if logits.shape == target.shape:
        nll = -logits.reshape(-1).float().masked_fill(~mask, 0.0)
    else:
        V = logits.size(-1)
        nll = F.cross_entropy(
            logits.reshape(-1, V).float(),
            flat_t,
            ignore_index=PAD_ID,
            reduction="none",
            label_smoothing=label_smoothing,
        )
    n = int(mask.sum())
    if weights is not None:
        w = weights[flat_t] * mask
        return (nll * w).sum() / w.sum().clamp(min=1e-8), n
    return nll.sum() / max(n, 1), n


__all__ = ["HRED", "HREDConfig", "sequence_loss", "KIND", "SCHEMA_VERSION", "BOS_ID", "EOS_ID", "PAD_ID"]
