"""The Train panel with the real engine service: tiny runs started, watched, cancelled and resumed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from desktop_testkit import LatencyProbe
from dialogue_fixtures import TINY_DIALOGUES
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

LONG_MS = 30000
STEPS = 100  # step budget of the tiny dialogue run
TINY_TEXT = (
    "The cat sat on the mat. The dog sat on the log. A cat and a dog played in the park. "
    "The bird sang in the tree. My dog likes the park. The cat likes the warm mat. "
) * 6


@pytest.fixture
def panel(train_panel):
    return train_panel


def _curves(qtbot, tab, run: dict) -> dict:
    """A run's curves: the runs job lists runs without them; selecting a row reads them (the
    selection is put back)."""
    before = [r["id"] for r in tab.runs.selected()]
    tab.runs.select([run["id"]])
    qtbot.waitUntil(lambda: tab.runs.curves_of(tab.runs.run(run["id"]) or run) is not None, timeout=LONG_MS)
    tab.runs.select(before)
    return tab.runs.curves_of(tab.runs.run(run["id"]))


def max_stall_ms() -> float:
    """The target is 100 ms. On a machine already saturated by other programs (more runnable
    processes than cores) the scheduler alone can hold any thread back for longer, whatever the
    app does; there the bound is 250 ms (the p95 bound above stays)."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return 100.0 if load < 1.0 else 250.0


def _tiny_dialogue_form(tab, corpus: Path) -> None:
    tab.source.setCurrentIndex(tab.source.findData("file"))
    tab.path.setText(str(corpus))
    tab.cell.setCurrentIndex(tab.cell.findData("lstm"))
    for spin, value in (
        (tab.emb, 8),
        (tab.enc, 8),
        (tab.dec, 8),
        (tab.turns, 2),
        (tab.epochs, 500),
        (tab.max_steps, STEPS),
        (tab.batch, 4),
        (tab.eval_every, 5),
        (tab.vocab, 300),
        (tab.patience, 0),
    ):
        spin.setValue(value)
    tab.lr.setValue(0.01)
    tab.vectors.setCurrentText("none")


def test_tiny_dialogue_run_updates_cancels_resumes_and_is_recorded(qtbot, panel, tmp_path):
    tab = panel.dialogue
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n\n".join("\n".join(d) for d in TINY_DIALOGUES * 3) + "\n")
    _tiny_dialogue_form(tab, corpus)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.job_id is not None and not tab.start_button.isEnabled()
    # curves update live (training loss every 10 steps, validation every 5) and the window stays
    # responsive meanwhile: the event loop is measured from the first training point to the cancel
    qtbot.waitUntil(lambda: tab.loss_plot.points("training") >= 1, timeout=LONG_MS)
    probe = LatencyProbe()
    qtbot.waitUntil(
        lambda: tab.loss_plot.points("training") >= 4 and tab.loss_plot.points("validation") >= 4,
        timeout=LONG_MS,
    )
    probe.timer.stop()
    assert tab.loss_plot.redraws >= 1
    p95, worst = probe.percentile(0.95) * 1000, probe.worst * 1000
    assert p95 < 50, f"event loop latency p95 {p95:.0f} ms while training (max {worst:.0f} ms)"
    assert worst < max_stall_ms(), (
        f"the event loop stalled for {worst:.0f} ms while training (p95 {p95:.0f} ms)"
    )
    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)  # paused, then cancelled from there
    assert tab.pause_button.text() == "Continue" and tab.status_text.startswith("Paused")
    qtbot.wait(600)  # a step under way when Pause was pressed may still report
    paused_at = tab.loss_plot.points("training")
    qtbot.wait(900)
    assert tab.loss_plot.points("training") == paused_at and tab.job_id is not None
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.job_id is None, timeout=LONG_MS)
    assert "cancelled" in tab.status_text and not tab.pause_button.isEnabled()
    qtbot.waitUntil(lambda: bool(tab.runs.runs) and tab.runs.runs[0]["status"] == "stopped", timeout=LONG_MS)
    run = tab.runs.runs[0]
    stopped_at = run["metrics"]["steps"]
    assert run["task"] == "dialogue" and 40 <= stopped_at < STEPS and _curves(qtbot, tab, run)["val_ppl"]
    assert Path(run["checkpoint"], "checkpoint", "trainer_state.json").is_file()
    # resume the selected run: it continues from its checkpoint to the step budget
    tab.runs.select([run["id"]])
    assert tab.resume_button.isEnabled()
    qtbot.mouseClick(tab.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.job_id is None, timeout=LONG_MS)
    qtbot.waitUntil(lambda: tab.runs.runs and tab.runs.runs[0]["status"] == "complete", timeout=LONG_MS)
    done = tab.runs.runs[0]
    assert done["id"] == run["id"] and done["metrics"]["steps"] == STEPS
    steps = [p[0] for p in _curves(qtbot, tab, done)["train_loss"]]
    assert steps == sorted(steps) and steps[0] <= stopped_at and steps[-1] == STEPS  # one curve, both parts
    assert tab.loss_plot.points("training") == len(steps)  # the resumed run's plot continues the old curve
    assert (Path(done["checkpoint"]) / "config.json").is_file()  # a chat model folder, found by the picker
    tab.runs.select([done["id"]])
    assert tab.runs.overlay.names() and tab.runs.table.item(0, 4).text() == "complete"
    tab.show_ppl.setChecked(True)  # the same curves as perplexity
    assert tab.loss_plot.log_y and tab.loss_plot.points("training") == len(steps)


def test_dialogue_form_offers_history_and_copy_only_where_they_apply(panel):
    tab = panel.dialogue
    model = tab.config()["model"]
    assert model["history_turns"] == 32 and model["copy"] is True  # the shipped model's recipe
    tab.attention.setCurrentText("none")  # copying reads the word attention
    assert not tab.copy.isEnabled() and tab.config()["model"]["copy"] is False
    tab.attention.setCurrentText("general")
    assert tab.copy.isEnabled()
    tab.history.setValue(0)  # and the dialogue history
    assert not tab.copy.isEnabled() and tab.config()["model"] == {**model, "history_turns": 0, "copy": False}


def test_fine_tuning_greys_out_the_architecture_and_only_dialogue_runs_are_listed(panel):
    """Bug hunt: fine-tuning silently ignored the form's cell and sizes (and named the run after the
    form's cell); the chat-model tab listed other tasks' runs and offered to resume them."""
    tab = panel.dialogue
    assert tab.cell.isEnabled()
    tab.start_from.addItem("shipped chat model", "/models/dialogue")
    tab.start_from.setCurrentIndex(tab.start_from.count() - 1)
    assert not tab.cell.isEnabled() and not tab.enc.isEnabled() and not tab.vocab.isEnabled()
    assert tab.epochs.isEnabled() and tab.lr.isEnabled()
    tab.start_from.setCurrentIndex(0)
    assert tab.cell.isEnabled()
    runs = [
        {"id": 2, "task": "summarizer", "status": "stopped", "config": {}},
        {"id": 1, "task": "dialogue", "status": "interrupted", "config": {"model": {"cell": "lstm"}}},
    ]
    tab.runs_job = -5
    tab._on_finished(-5, runs)
    assert [r["id"] for r in tab.runs.runs] == [1]
    tab.runs.table.selectRow(0)
    assert tab.resume_button.isEnabled()  # a run cut off by a crash can go on


def test_the_end_of_a_run_is_said_in_words_and_names_a_folder_only_with_a_model(tmp_path):
    from desktop.widgets.run_tab import ended_words, model_ready

    result = {"run_id": 3, "folder": str(tmp_path), "metrics": {"reason": "step_budget", "steps": 30}}
    assert ended_words(result) == "Run #3 ended after 30 steps (step budget reached)"
    assert not model_ready(result)
    (tmp_path / "config.json").write_text("{}")
    assert model_ready(result)


def test_runs_with_unlike_measures_are_compared_by_training_loss(qtbot):
    """Bug hunt: ROUGE-L (0.1–0.2) and a training loss (5–6) were drawn on one axis."""
    from desktop.widgets.runs_table import RunsTable

    table = RunsTable()
    qtbot.addWidget(table)
    loss = [[1, 6.1, 1.0], [2, 4.8, 2.0]]
    runs = [
        {"id": 2, "task": "summarizer", "status": "stopped", "config": {}, "curves": {"train_loss": loss}},
        {
            "id": 1,
            "task": "summarizer",
            "status": "complete",
            "config": {},
            "metrics": {"metric": "rouge_l"},
            "curves": {"train_loss": loss, "rouge_l": [[2, 0.12, 2.0]]},
        },
    ]
    table.set_runs(runs)
    table.select([1, 2])
    assert table.overlay.plot.getAxis("left").labelText == "training loss"
    assert "compared by training loss" in table.overlay.note.text()
    assert sorted(table.overlay.names()) == ["#1 summarizer", "#2 summarizer"]
    table.select([1])
    assert table.overlay.plot.getAxis("left").labelText == "ROUGE-L" and table.overlay.note.isHidden()


def test_start_and_cancel_stay_in_view_below_a_long_form(qtbot, panel):
    """At 1280 x 720 Start, Pause and Cancel were below the fold of the 20-field chat-model form,
    and the form scrolled sideways by a few pixels."""
    panel.resize(1180, 640)
    for i in range(4):  # chat model, summarizer, captioner, forecaster
        tab = panel.tabs.widget(i)
        panel.tabs.setCurrentIndex(i)
        qtbot.waitUntil(tab.start_button.isVisible, timeout=5000)
        assert not tab.form_scroll.isAncestorOf(tab.start_button)
        assert tab.start_button.visibleRegion().boundingRect().height() == tab.start_button.height()
        assert not tab.form_scroll.horizontalScrollBar().isVisible()


def test_the_panel_has_a_header_saying_what_the_tab_is_for(qtbot, panel):
    """Every other panel opens with its name and what it shows; Train opened on a bare tab bar."""
    from desktop.views.train import TAB_HINTS

    titles = [label.text() for label in panel.findChildren(QLabel) if label.objectName() == "ChatTitle"]
    assert titles == ["Train"]
    assert set(TAB_HINTS) == {panel.tabs.tabText(i) for i in range(panel.tabs.count())}
    panel.tabs.setCurrentWidget(panel.forecaster)
    assert "forecaster" in panel.hint.text()
    panel.tabs.setCurrentWidget(panel.compare)
    assert panel.hint.text() == TAB_HINTS["Compare cells"]
    width = panel.minimumSizeHint().width()
    panel.hint.setText("a hint " * 200)  # a long hint gives way; it never widens the window
    assert panel.minimumSizeHint().width() == width
