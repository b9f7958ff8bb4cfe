"""Self-critical training of the captioner: the CIDEr-D reward, sampling, the loss, and a tiny run."""

from __future__ import annotations

import pytest
import torch

from engine.caption.cider import CiderD, ngrams
from engine.caption.config import CaptionerConfig
from engine.caption.decoder import AttentionDecoder
from engine.caption.scst import sample_captions, self_critical_loss
from engine.caption.vocab import tokenize

REFS = {
    "a.jpg": ["a dog runs on the grass", "a brown dog is running", "dog running through a field"],
    "b.jpg": ["two children play in the sand", "kids playing on a beach", "two kids in the sand"],
    "c.jpg": ["a man rides a bike", "a cyclist on a road", "a man riding a bicycle down the road"],
}
HYPS = {"a.jpg": "a dog is running on grass", "b.jpg": "two kids play on the beach", "c.jpg": "a dog"}


def test_ngrams_counts_every_order():
    g = ngrams(["a", "b", "a"])
    assert g[("a",)] == 2 and g[("a", "b")] == 1 and g[("a", "b", "a")] == 1 and len(g) == 5


def test_cider_d_equals_pycocoevalcap_with_the_same_frequencies():
    cider_lib = pytest.importorskip("pycocoevalcap.cider.cider")
    gts = {n: [" ".join(tokenize(r)) for r in refs] for n, refs in REFS.items()}
    res = {n: [" ".join(tokenize(h))] for n, h in HYPS.items()}
    mean, per_image = cider_lib.Cider().compute_score(gts, res)
    ours = CiderD({n: [tokenize(r) for r in refs] for n, refs in REFS.items()})
    mine = ours.scores(sorted(REFS), [tokenize(HYPS[n]) for n in sorted(REFS)])
    assert mine == pytest.approx(list(per_image), abs=1e-9)
    assert sum(mine) / 3 == pytest.approx(mean, abs=1e-9)
    # a reference itself scores higher than an unrelated caption
    assert ours.score("a.jpg", tokenize(REFS["a.jpg"][0])) > ours.score("a.jpg", tokenize(HYPS["b.jpg"]))


def test_cider_d_frequencies_can_come_from_a_larger_corpus():
    refs = {n: [tokenize(r) for r in rs] for n, rs in REFS.items()}
    alone = CiderD({"a.jpg": refs["a.jpg"]}, df_from=refs)
    # with the corpus' frequencies, the one-image scorer agrees with the corpus scorer on that image
    assert alone.score("a.jpg", tokenize(HYPS["a.jpg"])) == pytest.approx(
        CiderD(refs).score("a.jpg", tokenize(HYPS["a.jpg"]))
    )
    with pytest.raises(KeyError):
        alone.score("b.jpg", ["two"])
    with pytest.raises(ValueError):
        CiderD({})


def test_the_end_token_makes_cut_off_captions_lose_more():
    refs = {n: [tokenize(r) for r in rs] for n, rs in REFS.items()}
    full, cut = tokenize("a man riding a bicycle down the road"), tokenize("a man riding a bicycle down the")
    plain, ended = CiderD(refs), CiderD(refs, end_token="<end>")
    assert ended.score("c.jpg", cut) / ended.score("c.jpg", full) < plain.score("c.jpg", cut) / plain.score(
        "c.jpg", full
    )
    with_end = {n: [r + ["<end>"] for r in rs] for n, rs in refs.items()}
    assert ended.score("c.jpg", cut) == pytest.approx(CiderD(with_end).score("c.jpg", cut + ["<end>"]))


def _decoder(vocab_size: int = 12) -> AttentionDecoder:
    torch.manual_seed(0)
    cfg = CaptionerConfig(
        vocab_size=vocab_size, feature_dim=6, region_dim=8, embed_dim=4, hidden_dim=8, attn_dim=4, dropout=0.0
    )
    return AttentionDecoder(cfg).eval()


def test_sampling_masks_after_end_and_never_samples_banned_ids():
    dec = _decoder()
    regions = torch.randn(3, 5, 6)
    torch.manual_seed(1)
    ids, logps, mask = sample_captions(dec, regions, k=4, max_words=6)
    assert ids.shape == logps.shape == mask.shape and ids.shape[0] == 12 and ids.shape[1] <= 7
    for row, m in zip(ids.tolist(), mask.tolist()):
        n = int(sum(m))
        assert all(x == 0 for x in row[n:])  # padding after the caption
        assert row[n - 1] == 2  # each caption ends with <end>, at the length cap at the latest
        assert not set(row[:n]) & {0, 1, 3}  # never <pad>, <start> or <unk>
    assert torch.all(logps[mask == 0] == 0) and torch.all(logps[mask == 1] <= 0)
    assert logps.requires_grad


def test_leave_one_out_baseline_pushes_up_the_better_sample():
    logps = torch.zeros(4, 2, requires_grad=True)  # 2 images x 2 samples, 2 tokens each
    mask = torch.ones(4, 2)
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5])
    loss = self_critical_loss(logps, mask, rewards, k=2)
    loss.backward()
    g = logps.grad
    # gradient descent raises log p of the sample that beat its sibling, lowers the other's
    assert torch.all(g[0] < 0) and torch.all(g[1] > 0)
    assert torch.all(g[2:] == 0)  # equal rewards: no signal
    assert float(g[0, 0]) == pytest.approx(-1.0 / 8)


def test_policy_gradient_raises_the_reward_of_a_tiny_decoder():
    """A decoder rewarded for saying word 5 learns to say it."""
    dec = _decoder()
    opt = torch.optim.Adam(dec.parameters(), lr=0.05)
    regions = torch.randn(4, 5, 6)

    def reward_of(ids):
        return torch.tensor([float((row == 5).any()) for row in ids], dtype=torch.float32)

    torch.manual_seed(0)
    with torch.no_grad():
        before = reward_of(sample_captions(dec, regions, 8, 4)[0]).mean()
    for _ in range(40):
        ids, logps, mask = sample_captions(dec, regions, 8, 4)
        loss = self_critical_loss(logps, mask, reward_of(ids), 8)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = reward_of(sample_captions(dec, regions, 8, 4)[0]).mean()
    assert after > max(0.9, float(before) + 0.2)
