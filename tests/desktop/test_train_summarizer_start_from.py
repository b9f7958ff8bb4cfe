"""The Summarizer tab's "Start from": a new model, the shipped summarizer or a finished run, which
fine-tunes that model (its architecture, tokenizer and weights) on the chosen data."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from train_task_fixtures import write_summarizer_jsonl

LONG_MS = 60000


def test_start_from_offers_the_shipped_model_and_runs_and_fine_tunes_one(
    qtbot, train_panel, tiny_summarizer_model, tmp_path
):
    panel = train_panel
    tab = panel.summarizer
    tab.isolate = False
    finished = tab.service.data.user_models / "run-0001-summarizer"  # a finished run of this data folder
    shutil.copytree(tiny_summarizer_model, finished, ignore=shutil.ignore_patterns("checkpoint"))
    panel.tabs.setCurrentWidget(tab)
    tab.scan_models()  # as when the tab is shown
    items = [tab.start_from.itemText(i) for i in range(tab.start_from.count())]
    assert items[0] == "A new model" and tab.start_from.currentData() == ""
    shipped = next(i for i, t in enumerate(items) if "(shipped)" in t)
    mine = tab.start_from.findData(str(finished))
    assert mine > 0 and "your run" in items[mine] and "summarizer" in items[shipped]

    for box, value in ((tab.emb, 16), (tab.enc, 16), (tab.vocab, 400), (tab.max_source, 48)):
        box.setValue(value)  # the new model's sizes, typed first
    tab.start_from.setCurrentIndex(shipped)
    assert tab.emb.value() == 128 and tab.enc.value() == 192 and tab.vocab.value() == 6000
    assert not tab.emb.isEnabled() and not tab.vocab.isEnabled() and not tab.word_vectors.isEnabled()
    assert tab.lr.isEnabled() and tab.epochs.isEnabled()  # training options stay the user's
    assert tab.config()["init_from"] == tab.start_from.currentData()
    tab.start_from.setCurrentIndex(0)  # a new model again: the sizes typed for it come back
    assert tab.emb.value() == 16 and tab.vocab.value() == 400 and tab.max_source.value() == 48
    assert tab.emb.isEnabled() and tab.config()["init_from"] == ""

    tab.start_from.setCurrentIndex(mine)
    assert tab.emb.value() == 24 and tab.vocab.value() == 400  # the tiny run's own architecture
    tab.data.setText(str(write_summarizer_jsonl(tmp_path / "pairs.jsonl")))
    tab.epochs.setValue(1)
    tab.max_steps.setValue(2)
    tab.batch.setValue(8)
    tab.patience.setValue(0)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.job_id is None, timeout=LONG_MS)
    qtbot.waitUntil(lambda: bool(tab.runs.runs) and tab.runs.runs[0]["status"] == "complete", timeout=LONG_MS)
    run = tab.runs.runs[0]
    assert run["config"]["init_from"] == str(finished) and run["metrics"]["steps"] == 2
    folder = Path(run["checkpoint"])
    assert (folder / "tokenizer.model").read_bytes() == (finished / "tokenizer.model").read_bytes()
