"""The captioner's command lines end to end on a tiny generated dataset: train, resume, caption, eval."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.caption import data as D
from engine.cli import main

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220), "green": (30, 170, 30)}
TINY = [
    "--region-dim",
    "16",
    "--embed-dim",
    "8",
    "--hidden-dim",
    "16",
    "--attn-dim",
    "8",
    "--min-count",
    "1",
    "--batch",
    "8",
    "--val-beam",
    "2",
    "--warmup-steps",
    "2",
    "--threads",
    "1",
]


def _train(argv: list[str]) -> int:
    """``python -m engine train captioner ARGV`` (through the module, registered or not)."""
    from engine.caption import train_cli

    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default="cpu")
    train_cli.add_arguments(p)
    return train_cli.run(p.parse_args(argv))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("capdata")
    img = root / "images"
    img.mkdir()
    names, i = {"train": [], "val": [], "test": []}, 0
    while min(len(names["val"]), len(names["test"])) < 3 or len(names["train"]) < 16:
        n = f"pic{i:04d}.jpg"
        i += 1
        s = D.split_of(n)
        if len(names[s]) < (16 if s == "train" else 3):
            names[s].append(n)
    rows = []
    rng = np.random.default_rng(0)
    for n in sum(names.values(), []):
        colour = list(COLOURS)[int(rng.integers(3))]
        im = Image.new("RGB", (120, 100), (255, 255, 255))
        ImageDraw.Draw(im).ellipse([20, 20, 90, 80], fill=COLOURS[colour])
        im.save(img / n)
        rows += [(n, f"a {colour} ball"), (n, f"a {colour} circle on white")]
    with open(root / "captions.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "caption"])
        w.writerows(rows)
    return root


@pytest.mark.slow
def test_train_resume_caption_eval(dataset, tmp_path, capsys):
    out = tmp_path / "model"
    common = [
        "--images",
        str(dataset / "images"),
        "--captions",
        str(dataset / "captions.csv"),
        "--out",
        str(out),
    ]
    assert _train([*common, "--epochs", "2", "--json", *TINY]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["reason"] == "completed" and summary["steps"] == 4
    assert 0.0 <= summary["best_bleu_4"] <= 1.0
    for f in ("config.json", "model.safetensors", "vocab.json", "train_log.json", "checkpoint"):
        assert (out / f).exists(), f
    assert len(list((out / "features").glob("*.npy"))) == 2  # train + val caches

    with pytest.raises(FileExistsError, match="already holds a model or a training run"):
        _train([*common, "--epochs", "3", *TINY])
    assert _train([*common, "--epochs", "3", "--resume", "--json", *TINY]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 6
    assert _train([*common, "--epochs", "1", "--overwrite", "--json", *TINY]) == 0  # a new run
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["steps"] == 2

    good = sorted((dataset / "images").iterdir())[0]
    bad = tmp_path / "broken.jpg"
    bad.write_text("not a picture")
    rc = main(
        [
            "caption",
            str(good),
            str(bad),
            "--model",
            str(out),
            "--beam",
            "2",
            "--alternatives",
            "1",
            "--attention",
            "--json",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert rc == 1 and result["failed"] == 1
    ok, err = result["results"]
    assert (
        ok["path"] == str(good)
        and isinstance(ok["caption"], str)
        and len(ok["attention"]) == len(ok["words"])
    )
    assert "broken.jpg" in err["error"]

    rc = main(
        [
            "eval",
            "caption",
            "--model",
            str(out),
            "--images",
            str(dataset / "images"),
            "--captions",
            str(dataset / "captions.csv"),
            "--split",
            "test",
            "--beam",
            "2",
            "--json",
        ]
    )
    metrics = json.loads(capsys.readouterr().out)
    assert rc == 0 and metrics["n_images"] == 3 and metrics["split"] == "test"
    for k in ("bleu_1", "bleu_2", "bleu_3", "bleu_4"):
        assert 0.0 <= metrics[k] <= 1.0
    assert metrics["cider"] >= 0.0


def test_caption_cli_errors(tmp_path, capsys):
    assert main(["caption", str(tmp_path / "missing.jpg"), "--model", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "a.jpg").write_bytes(b"")
    assert main(["caption", str(tmp_path / "a.jpg"), "--model", str(tmp_path / "nomodel")]) == 2
    assert "model folder not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures here")
    assert main(["caption", str(empty), "--model", str(tmp_path / "nomodel")]) == 2
    assert "no images or videos in" in capsys.readouterr().err  # said before any model is loaded
    assert main(["caption", str(tmp_path / "a.jpg"), "--length-penalty", "nan"]) == 2
    assert "finite number" in capsys.readouterr().err


def test_building_the_caption_commands_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, argparse\n"
        "from engine.caption import cli, eval_cli, scst_cli, train_cli\n"
        "for m in (cli, eval_cli, scst_cli, train_cli): m.add_arguments(argparse.ArgumentParser())\n"
        "print('torch' in sys.modules)"
    )
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


@pytest.mark.slow
def test_self_critical_fine_tuning_from_a_trained_model(dataset, tmp_path, capsys):
    from engine.caption import scst_cli

    base, out = tmp_path / "base", tmp_path / "scst"
    data = ["--images", str(dataset / "images"), "--captions", str(dataset / "captions.csv")]
    assert _train([*data, "--out", str(base), "--epochs", "2", "--json", *TINY]) == 0
    capsys.readouterr()

    def scst(extra: list[str]) -> dict:
        p = argparse.ArgumentParser()
        p.add_argument("--json", action="store_true")
        p.add_argument("--device", default="cpu")
        scst_cli.add_arguments(p)
        assert scst_cli.run(p.parse_args([*data, "--out", str(out), "--json", "--threads", "1", *extra])) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    opts = ["--init", str(base), "--samples", "3", "--batch", "8", "--eval-every", "2", "--val-beam", "2"]
    summary = scst([*opts, "--max-steps", "3", "--lr", "0.01"])
    assert summary["reason"] == "step_budget" and summary["steps"] == 3
    log = json.loads((out / "train_log.json").read_text())
    steps = [h["step"] for h in log["history"]]
    assert steps == [0, 2, 3]  # the starting model is scored first; the best of all is kept
    assert summary["best_cider"] == pytest.approx(max(h["cider"] for h in log["history"]))
    assert all("train_reward" in h for h in log["history"][1:])
    meta = json.loads((out / "config.json").read_text())
    assert meta["extra"]["scst"]["init_model"] == str(base) and meta["extra"]["scst"]["samples"] == 3
    assert meta["config"] == json.loads((base / "config.json").read_text())["config"]

    summary = scst(["--resume", "--max-steps", "5"])
    assert summary["steps"] == 5
    assert (
        main(["caption", str(sorted((dataset / "images").iterdir())[0]), "--model", str(out), "--json"]) == 0
    )
    assert isinstance(json.loads(capsys.readouterr().out)["results"][0]["caption"], str)
    with pytest.raises(ValueError, match="at least 2 samples"):  # and the run in OUT is kept
        scst(["--init", str(base), "--samples", "1", "--overwrite"])
    assert (out / "checkpoint").is_dir()


def test_a_file_is_captioned_as_what_it_holds_not_what_its_name_says(tmp_path, capsys):
    """A video named .jpg was refused as "not an image at all"; a picture named .mp4 failed as a video."""
    from caption_fixtures import write_clip, write_photo

    write_clip(tmp_path / "clip.mp4", seconds=0.5)
    (tmp_path / "clip.mp4").rename(tmp_path / "holiday.jpg")
    write_photo(tmp_path / "p.png").rename(tmp_path / "still.mp4")
    assert main(["caption", str(tmp_path / "holiday.jpg"), str(tmp_path / "still.mp4"), "--json"]) == 0
    results = {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert "scenes" in results["holiday.jpg"] and "scenes" not in results["still.mp4"]
    assert results["still.mp4"]["caption"] and "error" not in results["holiday.jpg"]
