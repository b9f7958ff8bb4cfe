"""Builders for a tiny, really trained dialogue model (shared by engine and desktop tests)."""

from __future__ import annotations

from pathlib import Path

TINY_DIALOGUES = [
    ["hello there", "hi how are you", "i am fine thanks", "good to hear"],
    ["what is your name", "my name is parlance", "nice name", "thank you"],
    ["do you like music", "yes i love jazz", "who is your favourite", "miles davis of course"],
    ["where do you live", "i live in a computer", "is it warm in there", "very warm and cosy"],
    ["what time is it", "time for tea", "tea sounds lovely", "milk or lemon"],
    ["tell me a joke", "why did the chicken cross the road", "why", "to get to the other side"],
]


def tiny_pairs(context_turns: int = 3):
    from engine.dialogue.corpus import Dialogue, examples

    ds = [Dialogue(str(i), tuple(t)) for i, t in enumerate(TINY_DIALOGUES)]
    return list(examples(ds, context_turns))


def build_tiny_model(
    folder: Path, steps: int = 600, seed: int = 0, target: float = 0.02, **cfg_overrides
) -> float:
    """Train a tiny HRED on TINY_DIALOGUES into ``folder`` until the loss is below ``target`` (or
    ``steps`` run out); returns the final training loss, also written to ``folder/train_loss.txt``."""
    import torch

    from engine import checkpoint
    from engine.dialogue.data import collate, encode_examples, prep
    from engine.dialogue.model import HRED, KIND, SCHEMA_VERSION, HREDConfig, sequence_loss
    from engine.text.tokenizer import Tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    texts = [prep(t) for d in TINY_DIALOGUES for t in d] * 5
    tok = Tokenizer.train(texts, folder, vocab_size=400, seed=seed)
    kw = dict(
        emb_dim=32,
        utt_hidden=32,
        ctx_hidden=48,
        dec_hidden=48,
        dropout=0.0,
        context_turns=3,
        max_utt_tokens=16,
        max_reply_tokens=24,
    )
    kw.update(cfg_overrides)
    cfg = HREDConfig(vocab_size=tok.vocab_size, **kw)
    torch.manual_seed(seed)
    model = HRED(cfg)
    turns = cfg.turns_read
    ex = encode_examples(
        tok, tiny_pairs(turns), turns, cfg.max_utt_tokens, cfg.max_reply_tokens, cfg.speaker_markers
    )
    batch = collate(ex)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        logits = model(batch["ctx"], batch["ctx_lens"], batch["dec_in"], batch["dec_lens"], batch["dec_out"])
        loss, _ = sequence_loss(logits, batch["dec_out"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if float(loss.detach()) < target:
            break
    checkpoint.save(
        folder, KIND, SCHEMA_VERSION, cfg, model.state_dict(), extra={"tokenizer": "tokenizer.model"}
    )
    (folder / "MODEL_CARD.md").write_text("# tiny test model\nTrained in the test suite on six dialogues.\n")
    (folder / "train_loss.txt").write_text(f"{float(loss.detach()):.6f}")
    return float(loss.detach())
