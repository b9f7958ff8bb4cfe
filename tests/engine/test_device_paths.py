"""Device and precision paths outside the dialogue core: what differs on CUDA (bf16 autocast, where
softmax runs in fp32 and cuDNN RNNs in fp16) and on MPS (no float64), checked on the CPU where it
can be, and on CUDA by the tests marked ``gpu`` (skipped without one; ``pytest -m gpu``)."""

from __future__ import annotations

import copy

import pytest
import torch

from engine.batch_search import beam_search, greedy_search, score_dtype
from engine.caption import decoder as caption_decoder
from engine.caption.decoder import AttentionDecoder, CaptionerConfig
from engine.decoding import DecodeOptions, decode
from engine.summarize.pointer import PointerConfig, PointerGenerator, batch_tensors
from engine.training import TrainConfig, Trainer

no_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
POINTER = dict(vocab_size=50, emb_dim=8, enc_hidden=8, dec_hidden=12, attn_dim=8, dropout=0.0)


def _caption_decoder(**kw) -> AttentionDecoder:
    torch.manual_seed(0)
    base = dict(vocab_size=12, feature_dim=24, region_dim=16, embed_dim=8, hidden_dim=16, attn_dim=8)
    return AttentionDecoder(CaptionerConfig(**{**base, "dropout": 0.0, **kw}))


def _caption_batch(device="cpu"):
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 9, 24, generator=g)
    tokens = torch.tensor([[1, 5, 6, 7, 2, 0], [1, 8, 9, 2, 0, 0], [1, 10, 2, 0, 0, 0]])
    return feats.to(device), tokens.to(device), torch.tensor([0, 1, 1], device=device)


def _pointer_batch(device="cpu"):
    pairs = [([5, 6, 7, 8, 9], [7, 8]), ([10, 11, 12], [10, 12, 13])]
    return batch_tensors(pairs, bos=2, eos=3, device=device)


# -- CPU ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("attention", [True, False])
def test_caption_teacher_forcing_when_softmax_runs_in_fp32_under_bf16_autocast(monkeypatch, attention):
    """CUDA autocast runs softmax in fp32 while the output layer gives bf16: the attention of the
    teacher-forced pass was written into a bf16 buffer (index_put refuses mixed dtypes), so
    training a captioner on a GPU failed at its first step. CPU autocast keeps softmax in bf16;
    the fp32 softmax is imitated here."""
    monkeypatch.setattr(caption_decoder, "masked_softmax", lambda s, m: torch.softmax(s.float(), dim=-1))
    dec = _caption_decoder(attention=attention).train()
    feats, tokens, index = _caption_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, attn = dec(feats, tokens, index)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, 12), tokens[:, 1:].reshape(-1), ignore_index=0
        )
        loss = loss + ((1.0 - attn.sum(dim=1)) ** 2).mean()
    loss.backward()
    assert logits.shape == (3, 5, 12) and attn.shape == (3, 5, 9)
    assert torch.isfinite(loss) and all(
        torch.isfinite(p.grad).all() for p in dec.parameters() if p.grad is not None
    )
    assert attn[2, 2:].abs().sum() == 0  # zero after a caption ends


def test_caption_search_in_bf16_gives_numpy_ready_attention():
    """The captioner's bf16 decoder (``precision="auto"`` on CUDA): hypotheses come back on the
    CPU in float32, what ``Caption.attention`` turns into numpy."""
    dec = copy.deepcopy(_caption_decoder()).to(torch.bfloat16).eval()
    feats, _, _ = _caption_batch()
    opts = DecodeOptions(method="beam", beam_size=3, max_len=6, min_len=1, length_penalty=0.0)
    with torch.no_grad():
        static, state = dec.start(feats.to(torch.bfloat16), repeat=3)
        beams = beam_search(
            lambda t, s, d=dec, st=static: d.step(t, s, st), state, batch=2, bos=1, eos=2, options=opts
        )
        static, state = dec.start(feats.to(torch.bfloat16), repeat=1)
        greedy = greedy_search(
            lambda t, s: dec.step(t, s, static), state, batch=2, bos=1, eos=2, options=opts
        )
    for h in [beams[0][0], beams[1][0], greedy[0], greedy[1]]:
        assert h.attention.device.type == "cpu" and h.attention.dtype == torch.float32
        assert h.attention.numpy().shape == (len(h.tokens), 9)


def test_search_scores_are_float64_except_on_mps():
    """MPS has no float64: the batched search's score tensors (the captioner's) failed there."""
    assert score_dtype(torch.device("cpu")) == torch.float64
    assert score_dtype("cuda:0") == torch.float64
    assert score_dtype(torch.device("mps")) == torch.float32


def test_pointer_training_step_and_decoding_under_cpu_bf16_autocast():
    torch.manual_seed(0)
    m = PointerGenerator(PointerConfig(**POINTER)).train()
    b = _pointer_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, parts = m(b["src"], b["lengths"], b["tgt_in"], b["tgt_out"])
    loss.backward()
    assert torch.isfinite(loss) and all(
        torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None
    )
    m.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        state = m.encode(b["src"][:1], b["lengths"][:1])
        hyps = decode(m.step, state, batch=1, bos=2, eos=3, options=DecodeOptions(method="beam", max_len=5))
    for row in hyps[0][0].attn["source"]:  # plain floats for the GUI's heat map
        assert all(isinstance(a, float) for a in row)


def test_summarize_eval_loads_the_abstractive_model_on_the_device_asked_for(monkeypatch):
    """``python -m engine eval summarize --device cuda`` loaded the model on the CPU regardless."""
    from engine.summarize import abstractive, eval_cli

    seen = []

    class Fake:
        def summarize(self, text, options, n_best=1):
            return type("R", (), {"text": text[:5]})()

    monkeypatch.setattr(
        abstractive.Abstractor, "load", classmethod(lambda cls, f, device=None: seen.append(device) or Fake())
    )
    run = eval_cli.abstractive_method("some/folder", 2, device="cuda:0")
    assert run(["One sentence."], 1, "") == "One s"
    assert seen == ["cuda:0"]


# -- CUDA ---------------------------------------------------------------------------------------


def _assert_learns(model, loss_of, info, steps: int = 30) -> None:
    """``steps`` Adam steps on ``loss_of()`` under the device's autocast: finite, and down by 30%."""
    from engine.device import autocast

    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        with autocast(info):
            loss = loss_of()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < 0.7 * losses[0], losses


def _cuda_bf16():
    from engine.device import choose_device

    info = choose_device("cuda")
    if not info.bf16:
        pytest.skip("this GPU has no bf16 support")
    return info


@pytest.mark.gpu
@no_cuda
@pytest.mark.parametrize("attention", [True, False])
def test_gpu_caption_training_steps_under_bf16_autocast(attention):
    info = _cuda_bf16()
    dec = _caption_decoder(attention=attention).to(info.name).train()
    feats, tokens, index = _caption_batch(info.name)

    def loss_of():
        logits, attn = dec(feats, tokens, index)
        loss = torch.nn.functional.cross_entropy(
            logits.float().reshape(-1, 12), tokens[:, 1:].reshape(-1), ignore_index=0
        )
        return loss + ((1.0 - attn.float().sum(dim=1)) ** 2).mean()

    _assert_learns(dec, loss_of, info)


@pytest.mark.gpu
@no_cuda
def test_gpu_caption_search_equals_cpu():
    cpu = _caption_decoder().eval()
    gpu = copy.deepcopy(cpu).cuda()
    feats, _, _ = _caption_batch()
    opts = DecodeOptions(method="beam", beam_size=3, max_len=6, min_len=1, length_penalty=0.0)
    out = []
    for dec, x in ((cpu, feats), (gpu, feats.cuda())):
        with torch.no_grad():
            static, state = dec.start(x, repeat=3)
            out.append(
                beam_search(
                    lambda t, s, d=dec, st=static: d.step(t, s, st),
                    state,
                    batch=2,
                    bos=1,
                    eos=2,
                    options=opts,
                )
            )
    for hc, hg in zip(out[0], out[1]):
        assert [h.tokens for h in hc] == [h.tokens for h in hg]
        torch.testing.assert_close(hg[0].attention, hc[0].attention, atol=1e-3, rtol=1e-3)


@pytest.mark.gpu
@no_cuda
def test_gpu_pointer_encoder_keeps_fp32_under_bf16_autocast_and_trains():
    """cuDNN's autocast rule would run the summarizer's GRU in fp16 (no GradScaler in this project)."""
    info = _cuda_bf16()
    torch.manual_seed(0)
    m = PointerGenerator(PointerConfig(**POINTER)).to(info.name).train()
    b = _pointer_batch(info.name)

    def loss_of():
        assert m.encode(b["src"], b["lengths"])["enc"].dtype == torch.float32
        return m(b["src"], b["lengths"], b["tgt_in"], b["tgt_out"])[0]

    _assert_learns(m, loss_of, info)


@pytest.mark.gpu
@no_cuda
def test_gpu_pointer_decoding_equals_cpu():
    torch.manual_seed(0)
    cpu = PointerGenerator(PointerConfig(**POINTER)).eval()
    gpu = copy.deepcopy(cpu).cuda()
    opts = DecodeOptions(method="beam", beam_size=3, max_len=6)
    out = []
    for m, dev in ((cpu, "cpu"), (gpu, "cuda")):
        b = _pointer_batch(dev)
        with torch.no_grad():
            state = m.encode(b["src"][:1], b["lengths"][:1])
            out.append(decode(m.step, state, batch=1, bos=2, eos=3, options=opts, device=dev, n_best=3)[0])
    assert [h.tokens for h in out[1]] == [h.tokens for h in out[0]]


@pytest.mark.gpu
@no_cuda
def test_gpu_resume_keeps_adam_steps_on_the_cpu_and_moves_between_devices(tmp_path):
    """A run resumed on CUDA: moments on the GPU, "step" on the CPU as in a fresh optimizer (a CUDA
    step costs a sync per parameter per step); a CUDA checkpoint also resumes on the CPU."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    batches = [(x[i : i + 16], x[i : i + 16].sum(1, keepdim=True)) for i in range(0, 64, 16)]

    def step_loss(m, b):
        dev = next(m.parameters()).device
        return torch.nn.functional.mse_loss(m(b[0].to(dev)), b[1].to(dev)), 16

    cfg = TrainConfig(epochs=1, lr=0.01, checkpoint_every=2)
    Trainer(
        torch.nn.Linear(4, 1).cuda(),
        cfg,
        lambda e: batches,
        step_loss,
        out_dir=tmp_path,
        device="cuda:0",
        steps_per_epoch=4,
    ).fit()
    more = TrainConfig(epochs=2, lr=0.01, checkpoint_every=2)
    on_gpu = Trainer(
        torch.nn.Linear(4, 1).cuda(),
        more,
        lambda e: batches,
        step_loss,
        out_dir=tmp_path,
        device="cuda:0",
        steps_per_epoch=4,
    )
    assert on_gpu.load_state()
    for st in on_gpu.optimizer.state.values():
        assert st["exp_avg"].is_cuda and st["step"].device.type == "cpu"
    done = on_gpu.fit(resume=True)
    assert done.step == 8
    on_cpu = Trainer(
        torch.nn.Linear(4, 1),
        more,
        lambda e: batches,
        step_loss,
        out_dir=tmp_path,
        device="cpu",
        steps_per_epoch=4,
    )
    assert on_cpu.load_state()
    assert all(st["exp_avg"].device.type == "cpu" for st in on_cpu.optimizer.state.values())
