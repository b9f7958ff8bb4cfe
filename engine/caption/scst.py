"""Self-critical sequence training (Rennie et al. 2017) of a trained captioner on CIDEr-D.

Starting from a model folder trained with cross-entropy, each step samples ``samples`` captions per
image from the decoder, scores each with CIDEr-D against the image's references (document
frequencies of the whole training split, :class:`engine.caption.cider.CiderD`) and follows the
policy gradient ``-(r - b) * Σ_t log p(w_t)``. The baseline ``b`` of a sample is the mean reward of
the *other* samples of the same image (the "new self-critical" variant of Luo 2020), so no greedy
pass is needed. The encoder (including any fine-tuned top blocks) stays frozen; only the decoder
learns. By default dropout stays on while sampling (as in cross-entropy training) and the caption's
end counts as a word of the reward, so cut-off endings ("sitting in a blue and yellow") lose.

The run uses the generic :class:`engine.training.Trainer` (progress, checkpoints, resume, early
stopping on validation CIDEr or BLEU-4 with beam search). The starting model is evaluated first and is the
best so far, so the output folder never holds a model worse on validation than the one it began
from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from engine.caption import data as D
from engine.caption.cider import CiderD
from engine.caption.config import ScstConfig
from engine.caption.features import cached_features
from engine.caption.model import CaptionModel, load, save
from engine.caption.train import _encode_set, clear_old_run, refuse_old_run, validation_scores
from engine.caption.vocab import Vocab, tokenize
from engine.extras import require_caption_metrics
from engine.training import EvaluationEvent, TrainConfig, Trainer, write_train_log

TRAIN_STATE = "scst_setup.json"


def sample_captions(
    decoder,
    regions: torch.Tensor,
    k: int,
    max_words: int,
    temperature: float = 1.0,
    banned=(Vocab.pad_id, Vocab.bos_id, Vocab.unk_id),
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample ``k`` captions per image from ``decoder`` (gradients kept).

    ``regions (B, S, D)`` -> token ids ``(B*k, T)`` (``<end>`` included, padding 0 after it), the
    log-probability of each sampled token ``(B*k, T)`` and the mask of real tokens ``(B*k, T)``.
    ``banned`` ids (<pad>, <start>, <unk>) are never sampled. Rows of one image are adjacent.
    """
    static, state = decoder.start(regions, repeat=k)
    N = regions.shape[0] * k
    eos = Vocab.eos_id
    tokens = torch.full((N,), Vocab.bos_id, dtype=torch.long, device=regions.device)
    alive = torch.ones(N, dtype=torch.bool, device=regions.device)
    ban = torch.zeros(decoder.cfg.vocab_size, device=regions.device)
    ban[list(banned)] = float("-inf")
    ids, logps, masks = [], [], []
    for t in range(max_words + 1):
        logp, state, _ = decoder.step(tokens, state, static)
        logits = logp / temperature + ban
        if t == max_words:  # the last step can only end the caption
            logits = torch.full_like(logits, float("-inf"))
            logits[:, eos] = 0.0
        logp = torch.log_softmax(logits, dim=-1)
        with torch.no_grad():
            nxt = torch.multinomial(logp.exp(), 1).squeeze(1)
        nxt = torch.where(alive, nxt, torch.zeros_like(nxt))
        ids.append(nxt)
        picked = logp.gather(1, nxt.unsqueeze(1)).squeeze(1)
        logps.append(torch.where(alive, picked, torch.zeros_like(picked)))  # finished rows: 0, not -inf
        masks.append(alive.clone())
        alive = alive & (nxt != eos)
        tokens = nxt.clamp(min=Vocab.bos_id)  # finished rows (pad) feed <start>; their outputs are masked
        if not bool(alive.any()):
            break
    return torch.stack(ids, 1), torch.stack(logps, 1), torch.stack(masks, 1).float()


def self_critical_loss(
    logps: torch.Tensor, mask: torch.Tensor, rewards: torch.Tensor, k: int
) -> torch.Tensor:
    """Policy-gradient loss with the leave-one-out baseline: ``rewards (B*k,)``, rows of one image
    adjacent. Returns the mean over sampled tokens of ``-(r - b) * log p``."""
    r = rewards.view(-1, k)
    baseline = (r.sum(1, keepdim=True) - r) / (k - 1)
    adv = (r - baseline).reshape(-1, 1)  # (N, 1)
    return -(adv * logps * mask).sum() / mask.sum().clamp(min=1.0)


def train_scst(
    init_model: str | Path,
    image_dir: str | Path,
    captions: str | Path,
    out: str | Path,
    scfg: ScstConfig,
    *,
    device: str = "cpu",
    cache_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: list[Callable] = (),
    cancel=None,
    log: Callable[[str], None] = print,
    extract_progress=None,
):
    """Fine-tune the captioner in ``init_model`` on CIDEr-D; the best model (by validation
    ``scfg.metric``, the starting model included) ends up as a model folder in ``out``. Returns the trainer's
    :class:`engine.training.FinishedEvent`. ``cache_dir``: the image-feature cache, shareable between
    runs (see :func:`engine.caption.train.train_captioner`); None keeps it in ``out/features``."""
    if scfg.metric not in ("cider", "bleu_4"):
        raise ValueError(f"unknown metric {scfg.metric!r}; known: cider, bleu_4")
    if scfg.samples < 2:
        raise ValueError("self-critical training needs at least 2 samples per image (--samples)")
    require_caption_metrics()  # validation scores captions: say so before features are extracted
    out = Path(out)
    setup_path = out / TRAIN_STATE
    if resume:
        if not setup_path.is_file():
            raise FileNotFoundError(f"nothing to resume: {setup_path} is missing")
        init_model = json.loads(setup_path.read_text(encoding="utf-8"))["init_model"]
    else:
        refuse_old_run(out, overwrite)
    model, vocab, meta = load(init_model, device)
    torch.manual_seed(scfg.seed)
    cs = D.with_images(D.read_captions(captions), image_dir)
    train_caps, val_caps = D.split(cs, "train"), D.split(cs, "val")
    if not train_caps or not val_caps:
        raise ValueError(
            f"need images in both the train and val splits; got {len(train_caps)} and {len(val_caps)}"
        )
    cache = Path(cache_dir) if cache_dir else out / "features"
    fs_train, fs_val = (
        cached_features(
            model, cache, image_dir, sorted(c), split, device=device, progress=extract_progress, cancel=cancel
        )
        for c, split in ((train_caps, "train"), (val_caps, "val"))
    )
    max_words = int(meta["extra"].get("train", {}).get("max_caption_words", 22))
    rows = np.flatnonzero(fs_train.ok)  # images that loaded; training needs only their references
    names = [fs_train.names[r] for r in rows]
    vrows, vtoks = _encode_set(vocab, val_caps, fs_val, 5, max_words)  # captions too: validation loss
    vnames = [fs_val.names[r] for r in vrows]
    if scfg.val_images:
        vrows, vtoks, vnames = vrows[: scfg.val_images], vtoks[: scfg.val_images], vnames[: scfg.val_images]
    refs = {n: [tokenize(c) for c in train_caps[n]] for n in names}
    cider = CiderD(refs, end_token="<end>" if scfg.end_reward else None)
    for p in model.top.parameters():
        p.requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(
        f"self-critical training from {init_model}: {len(rows)} train / {len(vrows)} val images, "
        f"{scfg.samples} samples each, {n_params / 1e6:.2f} M trainable parameters (decoder); device {device}"
    )
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        setup_path.write_text(json.dumps({"init_model": str(init_model), "scst": asdict(scfg)}), "utf-8")

    bs, k = scfg.images_per_batch, scfg.samples

    def batches(epoch: int):
        order = np.random.default_rng(scfg.seed * 1000 + epoch).permutation(len(rows))
        for i in range(0, len(order), bs):
            pick = order[i : i + bs]
            feats = torch.from_numpy(fs_train.features[rows[pick]].astype(np.float32)).to(device)
            yield {"feats": feats, "names": [names[j] for j in pick]}

    reward_log: list[float] = []

    def step_loss(m: CaptionModel, batch: dict):
        m.train(scfg.sample_dropout)
        with torch.no_grad():
            regions = m.regions(batch["feats"])
        ids, logps, mask = sample_captions(m.decoder, regions, k, scfg.max_words, scfg.temperature)
        words = [vocab.decode_ids(row) for row in ids.tolist()]
        rewards = cider.scores((n for n in batch["names"] for _ in range(k)), words)
        reward_log.append(float(np.mean(rewards)))
        r = torch.tensor(rewards, dtype=torch.float32, device=ids.device)
        return self_critical_loss(logps, mask, r, k), int(mask.sum())

    def evaluate(m) -> dict:
        scores = validation_scores(
            m, vocab, fs_val.features, vrows, vtoks, vnames, val_caps, device, scfg.val_beam
        )
        recent = reward_log[-scfg.eval_every :] if reward_log else [float("nan")]
        return {**scores, "train_reward": float(np.mean(recent))}

    def save_best(folder: Path, m) -> None:
        last = trainer.history[-1] if trainer.history else {}
        train_info = dict(meta["extra"].get("train", {}))
        save(
            folder,
            m,
            vocab,
            extra={
                "val_metrics": last,
                "train": train_info,
                "scst": {"init_model": str(init_model), **asdict(scfg)},
            },
        )

    cfg = TrainConfig(
        epochs=scfg.epochs,
        lr=scfg.lr,
        optimizer="adam",
        clip_norm=scfg.clip_norm,
        schedule="constant",
        eval_every=scfg.eval_every,
        checkpoint_every=scfg.checkpoint_every,
        patience=scfg.patience,
        metric=scfg.metric,
        mode="max",
        max_minutes=scfg.max_minutes,
        max_steps=scfg.max_steps,
        log_every=10,
        seed=scfg.seed,
        amp=False,
    )
    if overwrite and not resume:
        clear_old_run(out)
    trainer = Trainer(
        model,
        cfg,
        batches,
        step_loss,
        evaluate,
        out,
        save_best,
        list(callbacks),
        cancel,
        device=device,
        steps_per_epoch=math.ceil(len(rows) / bs),
    )
    if not resume:  # the starting point is the best so far: never hand back a worse model
        model.eval()
        with torch.no_grad():
            first = {**evaluate(model), "step": 0, "epoch": 0, "elapsed_s": 0.0}
        first.pop("train_reward")
        trainer.history.append(first)
        trainer.best = float(first[scfg.metric])
        save_best(out, model)
        for cb in callbacks:  # the curves start from the starting model's score
            cb(EvaluationEvent(0, 0, first, True, 0.0))
        log(f"starting model: val BLEU-4 {first['bleu_4']:.4f}, CIDEr {first['cider']:.4f}")
    done = trainer.fit(resume=resume)
    write_train_log(out, done)
    return done
