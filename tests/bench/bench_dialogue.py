"""Dialogue speed on this machine: model load, first streamed token, full reply latency.

    python tests/bench/bench_dialogue.py [--model DIR] [--runs 30] [--threads N]

Batch 1, greedy, a 20-token reply (min_len = max_len = 20) after 5 turns of context, and after
40 turns (the model reads as many as it was built for). The peer in
the same run is torch's raw nn.GRU decoder step loop of the same size (no attention, no
encoder), which bounds what the decoder alone costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CONTEXT = [
    "hey, how was your weekend?",
    "it was great, i went hiking with my sister",
    "oh nice, where did you go?",
    "up in the mountains near the lake, the weather was perfect",
    "that sounds lovely. do you go hiking often?",
]


def main() -> int:
    import torch

    from engine.decoding import DecodeOptions
    from engine.dialogue.bot import ChatBot
    from engine.paths import default_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(default_model("dialogue")))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        bot = ChatBot.load(args.model, device="cpu")
        loads.append((time.perf_counter() - t0) * 1000)
    opts = DecodeOptions(method="greedy", min_len=20, max_len=20, repetition_penalty=1.2, block_ngram=3)
    bot.reply(CONTEXT, opts)  # warm-up
    lat, first = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        stamps: list[float] = []
        r = bot.reply(CONTEXT, opts, on_token=lambda _p, s=stamps: s.append(time.perf_counter()))
        lat.append((time.perf_counter() - t0) * 1000)
        first.append((stamps[0] - t0) * 1000)
        assert r.n_tokens == 20
    # a long conversation: 40 earlier turns (a history model reads up to its history_turns of them)
    long_ctx = CONTEXT * 8
    lat_long = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        assert bot.reply(long_ctx, opts).n_tokens == 20
        lat_long.append((time.perf_counter() - t0) * 1000)

    # peer: a bare nn.GRU decoder loop of the same size and vocabulary, 20 steps
    cfg = bot.model.cfg
    gru = torch.nn.GRU(cfg.emb_dim + cfg.ctx_hidden, cfg.dec_hidden, batch_first=True)
    emb = torch.nn.Embedding(cfg.vocab_size, cfg.emb_dim)
    out = torch.nn.Linear(cfg.dec_hidden, cfg.vocab_size)
    peer = []
    with torch.no_grad():
        for _ in range(args.runs):
            t0 = time.perf_counter()
            h, tok, ctx = torch.zeros(1, 1, cfg.dec_hidden), torch.tensor([2]), torch.zeros(1, cfg.ctx_hidden)
            for _ in range(20):
                o, h = gru(torch.cat([emb(tok), ctx], -1).unsqueeze(1), h)
                tok = out(o[:, 0]).argmax(-1)
            peer.append((time.perf_counter() - t0) * 1000)
    res = {
        "model": args.model,
        "threads": torch.get_num_threads(),
        "load_ms_median": round(statistics.median(loads), 1),
        "reply_20_tokens_ms_median": round(statistics.median(lat), 1),
        "first_token_ms_median": round(statistics.median(first), 1),
        "reply_20_tokens_after_40_turns_ms_median": round(statistics.median(lat_long), 1),
        "turns_read": bot.context_turns,
        "peer_bare_gru_decoder_20_steps_ms_median": round(statistics.median(peer), 1),
        "runs": args.runs,
    }
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
