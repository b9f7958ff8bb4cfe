"""CUDA-only checks: device choice, cuDNN = CPU, a bf16-autocast training step, GPU decoding = CPU.

Every test here is marked ``gpu`` and skipped without CUDA; run them with ``tests/gpu_check.sh``
(or ``pytest -m gpu``). Strict comparisons run in float64 (cuDNN supports it, and no TF32 is
involved); float32 comparisons use a tolerance that allows for TF32 inside cuDNN.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.device import autocast, choose_device
from engine.nn.attention import Attention, LuongOutput
from engine.nn.recurrent import Recurrent

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

V, E, H, PAD, BOS = 13, 8, 16, 0, 1
F32_TOL = dict(atol=1e-2, rtol=1e-2)  # TF32 inside cuDNN on Ampere and later
F64_TOL = dict(atol=1e-9, rtol=0)


def _states(state):
    return state if isinstance(state, tuple) else (state,)


def _assert_close(a, b, tol):
    for x, y in zip(_states(a), _states(b)):
        torch.testing.assert_close(x.detach().cpu().to(y.dtype), y.detach().cpu(), **tol)


class TinySeq2Seq(nn.Module):
    """Embedding -> bidirectional encoder -> attention decoder (Luong), built only from engine.nn."""

    def __init__(self, enc_cell: str, dec_cell: str, score: str):
        super().__init__()
        self.embed = nn.Embedding(V, E, padding_idx=PAD)
        self.encoder = Recurrent(enc_cell, E, H, bidirectional=True)
        self.decoder = Recurrent(dec_cell, E, 2 * H)
        self.attn = Attention(2 * H, 2 * H, score=score)
        self.luong = LuongOutput(2 * H, 2 * H)
        self.out = nn.Linear(2 * H, V)

    def encode(self, src: Tensor, src_len: Tensor) -> tuple[Tensor, Tensor]:
        keys, _ = self.encoder(self.embed(src), src_len)  # (B, S, 2H)
        mask = torch.arange(src.shape[1], device=src.device) < src_len.to(src.device).unsqueeze(1)  # (B, S)
        return keys, mask

    def forward(self, src: Tensor, src_len: Tensor, tgt_in: Tensor) -> Tensor:
        keys, mask = self.encode(src, src_len)
        dec, _ = self.decoder(self.embed(tgt_in))  # (B, T, 2H)
        ctx, _ = self.attn.forward_seq(dec, keys, mask)  # (B, T, 2H)
        return self.out(self.luong(ctx, dec))  # (B, T, V) logits

    @torch.no_grad()
    def greedy(self, src: Tensor, src_len: Tensor, steps: int, force: Tensor | None = None):
        """Greedy decoding; ``force`` (B, steps) feeds given tokens instead of the argmax."""
        keys, mask = self.encode(src, src_len)
        token = torch.full((src.shape[0],), BOS, dtype=torch.long, device=src.device)
        state, tokens, logits = None, [], []
        for t in range(steps):
            o, state = self.decoder.step(self.embed(token), state)  # (B, 2H)
            ctx, _ = self.attn(o, keys, mask)  # (B, 2H)
            step_logits = self.out(self.luong(ctx, o))  # (B, V)
            token = step_logits.argmax(-1) if force is None else force[:, t].to(src.device)
            tokens.append(step_logits.argmax(-1))
            logits.append(step_logits)
        return torch.stack(tokens, 1), torch.stack(logits, 1)  # (B, steps), (B, steps, V)


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([7, 4, 6, 2])
    src = torch.randint(2, V, (4, 7), generator=g)
    src[torch.arange(7) >= src_len.unsqueeze(1)] = PAD
    return src, src_len


def test_device_choice_prefers_cuda_and_honours_overrides(monkeypatch):
    monkeypatch.delenv("PARLANCE_DEVICE", raising=False)
    info = choose_device()
    assert info.name == "cuda:0" and info.label.startswith("CUDA: ")
    assert info.bf16 == torch.cuda.is_bf16_supported()
    assert choose_device("cuda").name == "cuda:0"
    assert choose_device("cpu").name == "cpu" and choose_device(force_cpu=True).name == "cpu"
    monkeypatch.setenv("PARLANCE_DEVICE", "cpu")
    assert choose_device().name == "cpu"
    assert choose_device("cuda").name == "cuda:0"  # an argument wins over the environment
    with pytest.raises(ValueError, match="CUDA device"):
        choose_device(f"cuda:{torch.cuda.device_count()}")
    with torch.device(choose_device("cuda").name):
        assert torch.zeros(1).is_cuda


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fused_cudnn_path_equals_cpu(cell, dtype):
    assert torch.backends.cudnn.is_available()
    tol = F64_TOL if dtype == torch.float64 else F32_TOL
    torch.manual_seed(0)
    # train mode: cuDNN's RNN backward refuses to run in eval mode (dropout is 0, so no randomness)
    cpu = Recurrent(cell, E, H, num_layers=2, bidirectional=True).to(dtype).train()
    gpu = copy.deepcopy(cpu).cuda()
    assert gpu.fused
    lengths = torch.tensor([9, 3, 6, 1])
    x = torch.randn(4, 9, E, dtype=dtype)
    for gpu_lengths in (None, lengths, lengths.cuda()):  # lengths may live on either device
        cpu_lengths = None if gpu_lengths is None else lengths
        xc = x.detach().clone().requires_grad_()
        xg = x.detach().cuda().requires_grad_()
        out_c, st_c = cpu(xc, cpu_lengths)
        out_g, st_g = gpu(xg, gpu_lengths)
        _assert_close(out_g, out_c, tol)
        _assert_close(st_g, st_c, tol)
        (out_c.sum() + _states(st_c)[0].sum()).backward()
        (out_g.sum() + _states(st_g)[0].sum()).backward()
        _assert_close(xg.grad, xc.grad, tol)


@pytest.mark.parametrize("cell", ["rnn", "irnn", "gru_cho", "peephole_lstm", "cifg_lstm"])
def test_loop_cells_on_cuda_equal_cpu(cell):
    torch.manual_seed(0)
    cpu = Recurrent(cell, E, H, num_layers=2, bidirectional=True).double().eval()
    gpu = copy.deepcopy(cpu).cuda()
    x, lengths = torch.randn(3, 6, E, dtype=torch.float64), torch.tensor([6, 2, 4])
    out_c, st_c = cpu(x, lengths)
    out_g, st_g = gpu(x.cuda(), lengths.cuda())
    _assert_close(out_g, out_c, F64_TOL)
    _assert_close(st_g, st_c, F64_TOL)


@pytest.mark.parametrize(
    "enc_cell,dec_cell,score", [("lstm", "lstm", "general"), ("gru_cho", "peephole_lstm", "additive")]
)
def test_training_steps_under_bf16_autocast(enc_cell, dec_cell, score):
    info = choose_device("cuda")
    if not info.bf16:
        pytest.skip("this GPU has no bf16 support")
    torch.manual_seed(0)
    model = TinySeq2Seq(enc_cell, dec_cell, score).to(info.name).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    src, src_len = _batch()
    src, tgt = src.to(info.name), src.to(info.name)  # learn to copy the source
    tgt_in = torch.cat([torch.full_like(tgt[:, :1], BOS), tgt[:, :-1]], dim=1)
    losses = []
    for _ in range(40):
        with autocast(info):
            logits = model(src, src_len, tgt_in)
            assert logits.dtype == torch.bfloat16, "autocast should run the output layer in bf16"
            keys, _ = model.encode(src, src_len)
            if model.encoder.fused:  # torch would use fp16 cuDNN here; Recurrent keeps fp32 instead
                assert keys.dtype == torch.float32
            loss = F.cross_entropy(logits.float().reshape(-1, V), tgt.reshape(-1), ignore_index=PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("enc_cell,dec_cell", [("lstm", "lstm"), ("gru", "gru_cho"), ("rnn", "cifg_lstm")])
def test_gpu_greedy_decoding_equals_cpu(enc_cell, dec_cell):
    torch.manual_seed(0)
    cpu = TinySeq2Seq(enc_cell, dec_cell, "concat").eval()
    src, src_len = _batch(1)
    # float64: identical tokens, logits equal to rounding
    cpu64, gpu64 = cpu.double(), copy.deepcopy(cpu).double().cuda()
    tok_c, log_c = cpu64.greedy(src, src_len, steps=10)
    tok_g, log_g = gpu64.greedy(src.cuda(), src_len, steps=10)
    assert torch.equal(tok_g.cpu(), tok_c)
    _assert_close(log_g, log_c, F64_TOL)
    # float32 (what the app runs): same logits within tolerance when fed the same tokens
    cpu32, gpu32 = cpu64.float(), copy.deepcopy(cpu64).float().cuda()
    tok_c, log_c = cpu32.greedy(src, src_len, steps=10)
    _, log_g = gpu32.greedy(src.cuda(), src_len.cuda(), steps=10, force=tok_c)
    _assert_close(log_g, log_c, F32_TOL)
