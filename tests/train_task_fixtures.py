"""Tiny training data for the summarizer, captioner and forecaster runs of the Train panel (shared by
engine and desktop tests), written into a test's folder: a .jsonl file and a BBC-layout folder of
article/headline pairs, drawn pictures with a captions CSV, and a seasonal CSV series."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

# settings that make each run take a second or two on one CPU thread
TINY_SUMMARIZER = {
    "epochs": 2,
    "batch_size": 8,
    "lr": 1e-2,
    "patience": 0,
    "vocab_size": 400,
    "word_vectors": False,
    "model": {"emb_dim": 16, "enc_hidden": 16, "dec_hidden": 16, "attn_dim": 16, "dropout": 0.0,
              "max_source": 40, "max_target": 12},
}  # fmt: skip
TINY_CAPTIONER = {
    "train": {"epochs": 2, "images_per_batch": 8, "min_count": 1, "val_beam": 1, "warmup_steps": 2,
              "patience": 0, "bf16": "off", "checkpoint_every": 1},
    "model": {"region_dim": 16, "embed_dim": 8, "hidden_dim": 16, "attn_dim": 8},
}  # fmt: skip
TINY_LSTM = {"hidden": 4, "epochs": 4, "patience": 50, "seeds": 1, "batch_size": 32, "windows_per_epoch": 64}
COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 170, 30)}


def headline_pairs(n: int = 40) -> list[tuple[str, str]]:
    """(headline, body): the headline is the body's first three words (learnable by copying)."""
    from summarizer_fixtures import tiny_pairs

    return [(target, source) for _, source, target in tiny_pairs(n)]


def write_summarizer_jsonl(path, n: int = 40) -> Path:
    """A .jsonl file: ``text`` is the headline line, a blank line and the body; ``summary`` a sentence."""
    path = Path(path)
    rows = [{"text": f"{h}\n\n{body}", "summary": body.split(". ")[0] + "."} for h, body in headline_pairs(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_bbc_folder(root, n: int = 40) -> Path:
    """The BBC News Summary layout: ``News Articles/<cat>/NNN.txt`` and ``Summaries/<cat>/NNN.txt``."""
    root = Path(root)
    for i, (h, body) in enumerate(headline_pairs(n)):
        cat = ("business", "tech")[i % 2]
        for part, text in (("News Articles", f"{h}\n\n{body}\n"), ("Summaries", body.split(". ")[0] + ".")):
            (root / part / cat).mkdir(parents=True, exist_ok=True)
            (root / part / cat / f"{i:03d}.txt").write_text(text, encoding="utf-8")
    return root


def write_caption_set(root, train: int = 12, other: int = 2) -> tuple[Path, Path]:
    """(images folder, captions CSV): drawn balls of three colours with two captions each, with
    ``train`` images in the training split and ``other`` in each of validation and test."""
    from PIL import Image, ImageDraw

    from engine.caption import data as D

    root = Path(root)
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    names: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    i = 0
    while len(names["train"]) < train or min(len(names["val"]), len(names["test"])) < other:
        name = f"pic{i:04d}.png"
        i += 1
        split = D.split_of(name)
        if len(names[split]) < (train if split == "train" else other):
            names[split].append(name)
    rng = np.random.default_rng(0)
    rows = []
    for name in sum(names.values(), []):
        colour = list(COLOURS)[int(rng.integers(3))]
        im = Image.new("RGB", (64, 48), (255, 255, 255))
        ImageDraw.Draw(im).ellipse([12, 8, 52, 40], fill=COLOURS[colour])
        im.save(images / name)
        rows += [(name, f"a {colour} ball"), (name, f"a {colour} circle on white")]
    captions = root / "captions.csv"
    with open(captions, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "caption"])
        w.writerows(rows)
    return images, captions


def write_series_csv(path, n: int = 96) -> Path:
    """A monthly series with a trend and a yearly season, plus a text column, as a CSV."""
    path = Path(path)
    t = np.arange(n)
    sales = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, n)
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}-01" for k in range(n)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["month", "sales", "note"])
        w.writerows([m, f"{v:.2f}", "ok"] for m, v in zip(months, sales))
    return path
