"""Held-out evaluation of a dialogue model: perplexity and the diversity of its replies.

- per-token perplexity: exp(mean NLL over every target piece, EOS included);
- per-word perplexity: exp(total NLL / (whitespace words in the lower-cased targets + targets)),
  comparable across tokenizers;
- over the replies to ``n_sources`` contexts drawn with a fixed seed: distinct-1/2 (unique
  n-grams / all n-grams, over all replies), mean reply length in words, and the share of replies
  equal to the most frequent reply.
"""

from __future__ import annotations

import random
from collections import Counter

from engine.decoding import DecodeOptions, decode
from engine.dialogue.data import Example, collate, encode_context, length_batches, prep
from engine.dialogue.model import BOS_ID, EOS_ID, sequence_loss
from engine.training import perplexity as exp_ppl

GREEDY = DecodeOptions(method="greedy", max_len=30, repetition_penalty=1.0, block_ngram=0)


def perplexity(bot, pairs: list[tuple[list[str], str]], batch_size: int = 64) -> dict:
    import torch

    cfg = bot.model.cfg
    examples, words = [], 0
    for context, target in pairs:
        ctx = encode_context(
            bot.tok, context, bot.context_turns, cfg.max_utt_tokens, markers=cfg.speaker_markers
        )
        t = prep(target)
        ids = bot.tok.encode(t)
        if ids:
            examples.append(Example(ctx, ids))
            words += len(t.split())
    total, n = 0.0, 0
    with torch.no_grad():
        for b in length_batches(examples, batch_size, 0):
            x = collate(b, bot.device)
            logits = bot.model(x["ctx"], x["ctx_lens"], x["dec_in"], x["dec_lens"], x["dec_out"])
            loss, k = sequence_loss(logits, x["dec_out"])
            total += float(loss) * k
            n += k
    if not examples:
        raise ValueError("no evaluation targets: the data has no replies")
    return {
        "per_token_perplexity": exp_ppl(total / n),
        "per_word_perplexity": exp_ppl(total / (words + len(examples))),
        "n_targets": len(examples),
        "n_tokens": n,
    }


def generate(bot, contexts: list[list[str]], options: DecodeOptions, batch_size: int = 50) -> list[str]:
    import torch

    from engine.dialogue.bot import tidy
    from engine.text.tokenizer import UNK_ID

    cfg = bot.model.cfg
    out = []
    with torch.no_grad():
        for s in range(0, len(contexts), batch_size):
            chunk = contexts[s : s + batch_size]
            ex = [
                Example(
                    encode_context(
                        bot.tok, c, bot.context_turns, cfg.max_utt_tokens, markers=cfg.speaker_markers
                    ),
                    [EOS_ID],
                )
                for c in chunk
            ]
            x = collate(ex, bot.device)
            state = bot.model.start_state(x["ctx"], x["ctx_lens"])
            hyps = decode(
                bot.model.step,
                state,
                batch=len(chunk),
                bos=BOS_ID,
                eos=EOS_ID,
                unk=UNK_ID,
                options=options,
                device=bot.device,
            )
            out += [tidy(bot.tok.decode(h[0].tokens)) for h in hyps]
    return out


def diversity(replies: list[str]) -> dict:
    toks = [prep(r).split() for r in replies]
    uni = [w for t in toks for w in t]
    bi = [tuple(t[i : i + 2]) for t in toks for i in range(len(t) - 1)]
    top, top_n = Counter(prep(r) for r in replies).most_common(1)[0] if replies else ("", 0)
    return {
        "distinct_1": len(set(uni)) / max(len(uni), 1),
        "distinct_2": len(set(bi)) / max(len(bi), 1),
        "mean_reply_length": sum(map(len, toks)) / max(len(toks), 1),
        "top_reply_share": top_n / max(len(replies), 1),
        "top_reply": top,
    }


def evaluate(
    bot,
    pairs: list[tuple[list[str], str]],
    n_sources: int = 300,
    seed: int = 0,
    extra_options: DecodeOptions | None = None,
) -> dict:
    result = perplexity(bot, pairs)
    chosen = pairs if len(pairs) <= n_sources else random.Random(seed).sample(pairs, n_sources)
    contexts = [c for c, _ in chosen]
    replies = generate(bot, contexts, GREEDY)
    result.update(diversity(replies))
    result["n_sources"] = len(contexts)
    result["samples"] = [{"context": c[-2:], "reply": r} for c, r in list(zip(contexts, replies))[:8]]
    if extra_options is not None:
        if extra_options.method == "sample" and extra_options.seed is None:
            extra_options = DecodeOptions.from_dict({**extra_options.to_dict(), "seed": seed})
        other = generate(bot, contexts, extra_options)
        result["default_decoding"] = {"options": extra_options.to_dict(), **diversity(other)}
    return result
