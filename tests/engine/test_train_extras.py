"""Training without the [train] extra and what training runs leave behind (hunt findings 3, 4, 6, 7):
a missing package is named, with the README's install command, before any work or any recorded
run; a run that failed before writing anything leaves no folder; run folders say whether their
training finished; a .jsonl in the documented format trains with the default target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from train_task_fixtures import TINY_CAPTIONER, TINY_SUMMARIZER, write_caption_set, write_summarizer_jsonl

from engine import extras
from engine.history import HistoryStore
from engine.lab import jobs, task_jobs

ROOT = Path(__file__).resolve().parents[2]
README_HINT = "pip install -e '.[train]' in the Parlance folder"


def _hide(monkeypatch, module: str) -> None:
    """``module`` as if it were not installed (find_spec and import both fail)."""
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


def _folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.startswith("run-"))


# -- 3. captioner training needs pycocoevalcap: said before any image is encoded ---------------
def test_a_captioner_run_without_pycocoevalcap_fails_before_it_is_recorded(tmp_path, monkeypatch):
    images, captions = write_caption_set(tmp_path / "set")
    _hide(monkeypatch, "pycocoevalcap")
    store = HistoryStore.open_in_memory()
    config = {**TINY_CAPTIONER, "images": str(images), "captions": str(captions)}
    with pytest.raises(extras.MissingExtra, match=r"needs the training extras: pip install -e '\.\[train\]'"):
        task_jobs.captioner_job(config, str(tmp_path / "models"), isolate=False, store=store)
    assert store.list_runs() == []
    assert not (tmp_path / "models").exists()


def test_train_captioner_checks_the_metrics_before_extracting_features(tmp_path, monkeypatch):
    import engine.caption.train as T
    from engine.caption.config import CaptionerConfig, CaptionTrainConfig

    images, captions = write_caption_set(tmp_path / "set")
    _hide(monkeypatch, "pycocoevalcap")

    def no_work(*args, **kwargs):
        raise AssertionError("features extracted before the missing package was named")

    monkeypatch.setattr(T, "cached_features", no_work)
    tcfg = CaptionTrainConfig(**TINY_CAPTIONER["train"])
    mcfg = CaptionerConfig(**TINY_CAPTIONER["model"])
    with pytest.raises(extras.MissingExtra, match="pycocoevalcap package is missing"):
        T.train_captioner(images, captions, tmp_path / "out", tcfg, mcfg, log=lambda s: None)


def test_the_caption_metrics_name_the_extra_the_readme_way(monkeypatch):
    from engine.caption.metrics import caption_scores

    _hide(monkeypatch, "pycocoevalcap")
    with pytest.raises(extras.MissingExtra) as info:
        caption_scores({"a.jpg": ["a dog"]}, {"a.jpg": "a dog"})
    assert README_HINT in str(info.value)


def test_no_message_names_the_unrelated_parlance_project_on_pypi():
    """``pip install 'parlance[train]'`` installs an unrelated Diplomacy framework from PyPI."""
    bad = [
        str(p.relative_to(ROOT))
        for folder in ("engine", "desktop")
        for p in (ROOT / folder).rglob("*.py")
        if "parlance[train]" in p.read_text(encoding="utf-8")
    ]
    assert bad == []


# -- 4. the built-in chat corpora need their packages: said before a run is recorded -----------
@pytest.mark.parametrize(
    "corpus,module", [("chitchat", "chitchat_dataset"), ("chatterbot", "chatterbot_corpus")]
)
def test_a_builtin_corpus_without_its_package_records_no_run(tmp_path, monkeypatch, corpus, module):
    from engine.dialogue.corpus import load_corpus

    _hide(monkeypatch, module)
    store = HistoryStore.open_in_memory()
    for _ in range(2):  # every click used to add an "error" row and an empty folder
        with pytest.raises(extras.MissingExtra, match=rf"the {corpus} corpus needs the training extras"):
            jobs.dialogue_job({"corpus": corpus}, str(tmp_path), isolate=False, store=store)
    assert store.list_runs() == [] and _folders(tmp_path) == []
    with pytest.raises(ValueError) as info:
        load_corpus(corpus)
    assert README_HINT in str(info.value) and "parlance[train]" not in str(info.value)


# -- 4. a run that failed before writing anything leaves no folder to resume from --------------
def test_a_new_run_that_fails_before_writing_removes_its_empty_folder(tmp_path):
    store = HistoryStore.open_in_memory()
    rec = jobs.RunRecorder(store, "dialogue", {}, "x", "cpu", str(tmp_path), None, None)
    empty = rec.folder("dialogue-gru")
    empty.mkdir()
    rec.fail(ValueError("bad data"))
    assert not empty.exists()
    assert store.get_run(rec.run_id)["status"] == "error"
    # one that wrote something keeps it (it may resume from it)
    rec = jobs.RunRecorder(store, "dialogue", {}, "x", "cpu", str(tmp_path), None, None)
    kept = rec.folder("dialogue-gru")
    kept.mkdir()
    (kept / "tokenizer.model").write_bytes(b"x")
    rec.on_event({"kind": "start"})
    rec.fail(OSError("disk full"))
    assert (kept / "tokenizer.model").is_file() and jobs.run_state(kept) == "unfinished"


# -- 7. a run's folder says whether its training finished ---------------------------------------
def test_run_folders_say_whether_their_training_finished(tmp_path):
    store = HistoryStore.open_in_memory()
    states = []
    for reason in ("cancelled", "completed"):
        rec = jobs.RunRecorder(store, "dialogue", {}, "x", "cpu", str(tmp_path), None, None)
        folder = rec.folder("dialogue-gru")
        folder.mkdir()
        rec.on_event({"kind": "start"})
        states.append(jobs.run_state(folder))  # while it trains (or after a crash)
        rec.finish({"reason": reason, "steps": 3})
        states.append(jobs.run_state(folder))
    assert states == ["unfinished", "unfinished", "unfinished", "finished"]
    cli = tmp_path / "cli-run"  # a CLI run's train_log.json says how it ended
    cli.mkdir()
    (cli / "train_log.json").write_text(json.dumps({"reason": "cancelled"}))
    assert jobs.run_state(cli) == "unfinished" and jobs.run_state(tmp_path / "nothing") is None


def test_a_cancelled_summarizer_run_is_unfinished_and_a_finished_one_is_not(tmp_path):
    class CancelAfterEval:
        def __init__(self):
            self.events = []

        def __call__(self, event):
            self.events.append(event)

        @property
        def cancelled(self):
            return any(e.get("kind") == "eval" for e in self.events)

    store = HistoryStore.open_in_memory()
    config = {**TINY_SUMMARIZER, "epochs": 4, "data": str(write_summarizer_jsonl(tmp_path / "p.jsonl"))}
    token = CancelAfterEval()
    out = task_jobs.summarizer_job(
        config, str(tmp_path / "m"), isolate=False, progress=token, cancel=token, store=store
    )
    assert (Path(out["folder"]) / "config.json").is_file()  # a model a picker offers …
    assert jobs.run_state(out["folder"]) == "unfinished"  # … that is marked as such
    jobs_done = task_jobs.summarizer_job(
        {}, str(tmp_path / "m"), run_id=out["run_id"], isolate=False, store=store
    )
    assert jobs.run_state(jobs_done["folder"]) == "finished"


# -- 6. a .jsonl in the documented {"text", "summary"} format trains with the defaults ----------
def _plain_jsonl(path: Path, n: int = 40) -> Path:
    """Texts without a title line, as the documented format has them."""
    words = [
        "island",
        "rain",
        "boat",
        "ferry",
        "water",
        "road",
        "plan",
        "service",
        "town",
        "storm",
        "port",
        "people",
        "power",
        "school",
    ]
    rows = []
    for i in range(n):
        body = ". ".join(" ".join(words[(i + j + k) % len(words)] for k in range(8)) for j in range(4)) + "."
        rows.append({"text": body, "summary": body.split(". ")[0] + "."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_documented_jsonl_trains_with_the_default_target(tmp_path):
    from engine.lab.task_runs import check_summarizer_data, summarizer_config

    data = str(_plain_jsonl(tmp_path / "summ.jsonl"))
    facts = check_summarizer_data({"data": data, "target": "auto"})
    assert facts["format"] == "jsonl" and facts["train"] > 2
    assert summarizer_config({"data": data, "target": "auto"}).target == "summary"
    with pytest.raises(ValueError, match=r'0 usable article/title.*"Learn to write" to Reference summary'):
        check_summarizer_data({"data": data, "target": "title"})


def test_the_summarizer_cli_defaults_fit_a_documented_jsonl(tmp_path):
    from engine.cli import build_parser

    args = build_parser().parse_args(["train", "summarizer", "--data", "x.jsonl", "--out", "o"])
    assert (args.fmt, args.target) == ("auto", "auto")  # were bbc and title: a .jsonl failed
    data = _plain_jsonl(tmp_path / "summ.jsonl")
    small = "--epochs 1 --max-steps 2 --batch-size 8 --vocab-size 300 --word-vectors off --emb-dim 8 "
    small += "--enc-hidden 8 --dec-hidden 8 --attn-dim 8 --max-source 20 --max-target 8 --json"
    cmd = [
        sys.executable,
        "-m",
        "engine",
        "train",
        "summarizer",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "o"),
    ]
    done = subprocess.run([*cmd, *small.split()], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 2


def test_eval_summarize_without_rouge_score_says_which_extra(tmp_path, monkeypatch, capsys):
    """It was a raw ModuleNotFoundError traceback from inside the evaluation."""
    from engine.cli import main

    _hide(monkeypatch, "rouge_score")
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"text": "One sentence here. Another one.", "summary": "One."}\n', encoding="utf-8")
    assert main(["eval", "summarize", "--data", str(data), "--format", "jsonl", "--methods", "lead-3"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[bench]'" in err and "rouge-score package is missing" in err
