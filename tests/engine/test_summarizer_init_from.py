"""Fine-tuning the abstractive summarizer (``init_from`` / ``--init-from`` / the Train panel's run):
it starts from the given model's weights, keeps its architecture and tokenizer, resumes without
the starting folder, and refuses a folder that is not a summarizer with a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from summarizer_fixtures import TINY_MODEL, tiny_pairs
from train_task_fixtures import TINY_SUMMARIZER, write_summarizer_jsonl

from engine.cli import main


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A tiny summarizer trained for a few steps (its own tokenizer of 400 pieces)."""
    from summarizer_fixtures import build_tiny_summarizer

    folder = tmp_path_factory.mktemp("base")
    build_tiny_summarizer(folder, epochs=2)
    return folder


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}


def _fine_tune_cfg(base: Path, **kw):
    from engine.summarize.train import SummarizerTrainConfig

    values = {
        "epochs": 1,
        "batch_size": 8,
        "lr": 0.0,
        "patience": 0,
        "vocab_size": 300,  # not used: fine-tuning keeps the starting model's tokenizer
        "word_vectors": True,  # not used either: the embedding is the starting model's
        "init_from": str(base),
        "model": {"emb_dim": 8, "enc_hidden": 8},  # not used: the architecture is the starting model's
        **kw,
    }
    return SummarizerTrainConfig(**values)


def test_fine_tuning_starts_from_the_models_weights_and_keeps_its_tokenizer(base, tmp_path):
    import torch

    from engine.summarize.abstractive import Abstractor
    from engine.summarize.train import train_summarizer

    out = tmp_path / "ft"
    said = []
    done = train_summarizer(_fine_tune_cfg(base, max_steps=2), out, pairs=tiny_pairs(), log=said.append)
    assert done.step == 2
    # lr 0: the two steps changed nothing, so the fine-tuned model holds exactly the starting weights
    start, tuned = _weights(base), _weights(out)
    assert start.keys() == tuned.keys()
    assert all(torch.equal(start[k], tuned[k]) for k in start)
    assert (out / "tokenizer.model").read_bytes() == (base / "tokenizer.model").read_bytes()
    meta, base_meta = (json.loads((f / "config.json").read_text()) for f in (out, base))
    assert meta["config"] == base_meta["config"]  # the architecture (and vocab_size 400) of the start
    assert meta["extra"]["train"]["init_from"] == str(base)
    # the starting model measured on the same validation pairs before the first step
    log = json.loads((out / "train_log.json").read_text())
    assert log["before_val_nll"] == pytest.approx(base_meta["extra"]["val_metrics"]["val_nll"], rel=1e-5)
    assert log["before_rouge_l"] == pytest.approx(base_meta["extra"]["val_metrics"]["rouge_l"])
    assert any("before fine-tuning" in s for s in said) and not any("embeddings:" in s for s in said)
    Abstractor.load(out)  # a model folder the Summarize panel can use


def test_a_fine_tuning_run_resumes_without_its_starting_folder(base, tmp_path):
    from engine.summarize.train import INIT_FILE, SummarizerTrainConfig, train_summarizer

    start = tmp_path / "start"
    shutil.copytree(base, start, ignore=shutil.ignore_patterns("checkpoint"))
    out = tmp_path / "ft"
    first = train_summarizer(_fine_tune_cfg(start, epochs=2, lr=1e-2, max_steps=3), out, pairs=tiny_pairs(),
                             log=lambda s: None)  # fmt: skip
    assert first.step == 3 and (out / INIT_FILE).is_file()
    shutil.rmtree(start)  # gone: the resumed run needs only its own folder
    again = SummarizerTrainConfig(epochs=2, batch_size=8, lr=1e-2, patience=0, word_vectors=False,
                                  model={**TINY_MODEL, "emb_dim": 8})  # fmt: skip
    done = train_summarizer(again, out, pairs=tiny_pairs(), resume=True, log=lambda s: None)
    assert done.step == 8 and done.reason == "completed"  # 4 steps an epoch
    meta, base_meta = (json.loads((f / "config.json").read_text()) for f in (out, base))
    assert meta["config"] == base_meta["config"]
    assert "before_val_nll" in json.loads((out / "train_log.json").read_text())


def test_a_folder_that_is_not_a_summarizer_is_refused_clearly(base, tmp_path):
    from engine.summarize.train import train_summarizer

    captioner = tmp_path / "captioner"
    captioner.mkdir()
    (captioner / "config.json").write_text(
        json.dumps({"kind": "captioner", "schema_version": 1, "config": {}})
    )
    broken = tmp_path / "broken"  # a summarizer whose tokenizer is another model's
    shutil.copytree(base, broken, ignore=shutil.ignore_patterns("checkpoint"))
    meta = json.loads((broken / "config.json").read_text())
    meta["config"]["vocab_size"] = 500
    (broken / "config.json").write_text(json.dumps(meta))
    for folder, why in (
        (tmp_path / "nowhere", "not found"),
        (captioner, "'captioner' model"),
        (broken, "the tokenizer has 400 pieces, the model 500"),
    ):
        with pytest.raises(ValueError, match="cannot fine-tune from") as err:
            train_summarizer(_fine_tune_cfg(folder), tmp_path / "out", pairs=tiny_pairs(), log=lambda s: None)
        assert str(folder) in str(err.value) and why in str(err.value)


def test_cli_fine_tunes_with_init_from_and_refuses_architecture_flags(base, tmp_path, capsys):
    data = write_summarizer_jsonl(tmp_path / "pairs.jsonl")
    out = tmp_path / "ft"
    args = ["train", "summarizer", "--data", str(data), "--out", str(out), "--init-from", str(base)]
    args += ["--max-steps", "2", "--lr", "0.001", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 2
    assert (out / "tokenizer.model").read_bytes() == (base / "tokenizer.model").read_bytes()
    meta, base_meta = (json.loads((f / "config.json").read_text()) for f in (out, base))
    assert meta["config"] == base_meta["config"]
    refused = ["train", "summarizer", "--data", str(data), "--out", str(tmp_path / "x")]
    assert main([*refused, "--init-from", str(base), "--emb-dim", "64", "--vocab-size", "900"]) == 2
    err = capsys.readouterr().err
    assert "--emb-dim, --vocab-size" in err and "keeps the architecture and tokenizer" in err
    assert main([*refused, "--init-from", str(tmp_path)]) == 2  # a folder with no model
    assert "cannot fine-tune from" in capsys.readouterr().err


def test_the_train_panels_run_fine_tunes_and_checks_the_folder_before_recording(base, tmp_path):
    from engine.history import HistoryStore
    from engine.lab import task_jobs
    from engine.summarize.pointer import PointerConfig, PointerGenerator

    store = HistoryStore.open_in_memory()
    data = str(write_summarizer_jsonl(tmp_path / "pairs.jsonl"))
    config = {**TINY_SUMMARIZER, "data": data, "init_from": str(base), "max_steps": 2}
    seen = []
    done = task_jobs.summarizer_job(config, str(tmp_path), isolate=False, progress=seen.append, store=store)
    run = store.get_run(done["run_id"])
    assert run["status"] == "complete" and run["metrics"]["steps"] == 2
    start = next(e for e in seen if e["kind"] == "start")
    base_cfg = PointerConfig(**json.loads((base / "config.json").read_text())["config"])
    assert start["init_from"] == str(base)
    assert start["params"] == sum(p.numel() for p in PointerGenerator(base_cfg).parameters())
    assert any("before fine-tuning" in e.get("text", "") for e in seen if e["kind"] == "log")
    assert (Path(done["folder"]) / "tokenizer.model").read_bytes() == (base / "tokenizer.model").read_bytes()
    with pytest.raises(ValueError, match="cannot fine-tune from"):
        task_jobs.summarizer_job(
            {**config, "init_from": str(tmp_path)}, str(tmp_path), isolate=False, store=store
        )
    assert len(store.list_runs()) == 1  # the refused folder recorded no run


def test_resuming_an_ordinary_run_with_init_from_is_refused_before_any_file_changes(base, tmp_path):
    from engine.summarize.train import INIT_FILE, SummarizerTrainConfig, train_summarizer

    out = tmp_path / "own"  # a run that trains a new model (its own tokenizer), stopped after 2 steps
    own = SummarizerTrainConfig(epochs=1, batch_size=8, max_steps=2, vocab_size=500, word_vectors=False,
                                patience=0, model={**TINY_MODEL, "emb_dim": 8})  # fmt: skip
    train_summarizer(own, out, pairs=tiny_pairs(), log=lambda s: None)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(ValueError, match="was not started with --init-from; resume it without --init-from"):
        train_summarizer(_fine_tune_cfg(base, max_steps=4), out, pairs=tiny_pairs(), resume=True,
                         log=lambda s: None)  # fmt: skip
    assert not (out / INIT_FILE).exists()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # tokenizer kept


def test_the_app_resumes_a_fine_tuning_run_whose_starting_folder_is_gone(base, tmp_path):
    from engine.history import HistoryStore
    from engine.lab import task_jobs
    from engine.summarize.train import INIT_FILE

    start = tmp_path / "start"
    shutil.copytree(base, start, ignore=shutil.ignore_patterns("checkpoint"))
    store = HistoryStore.open_in_memory()
    data = str(write_summarizer_jsonl(tmp_path / "pairs.jsonl"))
    config = {**TINY_SUMMARIZER, "data": data, "init_from": str(start), "epochs": 2}
    seen = []

    class CancelOnceStarted:  # a cancel token: stop once the starting model has been measured
        @property
        def cancelled(self) -> bool:
            return any("before fine-tuning" in e.get("text", "") for e in seen)

    out = task_jobs.summarizer_job(config, str(tmp_path), isolate=False, progress=seen.append,
                                   cancel=CancelOnceStarted(), store=store)  # fmt: skip
    run = store.get_run(out["run_id"])
    assert run["status"] == "stopped" and (Path(out["folder"]) / INIT_FILE).is_file()
    shutil.rmtree(start)  # e.g. "Delete with files" on the run it started from
    done = task_jobs.summarizer_job({}, str(tmp_path), run_id=out["run_id"], isolate=False, store=store)
    run = store.get_run(out["run_id"])
    assert run["status"] == "complete" and done["folder"] == out["folder"]
    assert run["metrics"]["steps"] == 8  # 4 steps an epoch
