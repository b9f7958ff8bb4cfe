"""The Train panel's summarizer, captioner and forecaster tabs with the real engine service: tiny
runs started from their forms, curves seen, cancelled at any moment, resumed, found in the runs
table, and every bad input (wrong file formats, a config too large for memory, a full disk) met
with a clear message while the panel keeps working."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from desktop_testkit import recorder
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from train_task_fixtures import TINY_LSTM, write_caption_set, write_series_csv, write_summarizer_jsonl

LONG_MS = 60000


@pytest.fixture
def panel(train_panel):
    return train_panel


def _click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _wait_done(qtbot, tab) -> None:
    qtbot.waitUntil(lambda: tab.job_id is None, timeout=LONG_MS)


def _wait_row(qtbot, tab, status: str, after: dict | None = None) -> dict:
    """The newest run once it has ``status`` (and, given ``after``, once it is a newer run than that)."""

    def ready() -> bool:
        runs = tab.runs.runs
        return bool(runs) and runs[0]["status"] == status and (after is None or runs[0]["id"] != after["id"])

    qtbot.waitUntil(ready, timeout=LONG_MS)
    return tab.runs.runs[0]


def _curves(qtbot, tab, run: dict) -> dict:
    """A run's curves: the runs job lists runs without them; selecting a row reads them (the
    selection is put back)."""
    before = [r["id"] for r in tab.runs.selected()]
    tab.runs.select([run["id"]])
    qtbot.waitUntil(lambda: tab.runs.curves_of(tab.runs.run(run["id"]) or run) is not None, timeout=LONG_MS)
    tab.runs.select(before)
    return tab.runs.curves_of(tab.runs.run(run["id"]))


def _tiny_summarizer_form(tab, data: Path, epochs: int) -> None:
    tab.data.setText(str(data))
    for box, value in ((tab.emb, 16), (tab.enc, 16), (tab.dec, 16), (tab.attn, 16), (tab.max_source, 48)):
        box.setValue(value)
    for box, value in ((tab.max_target, 12), (tab.epochs, epochs), (tab.batch, 8), (tab.vocab, 400)):
        box.setValue(value)
    tab.patience.setValue(0)
    tab.lr.setValue(0.01)
    tab.word_vectors.setChecked(False)


def test_summarizer_run_updates_cancels_resumes_and_is_recorded(qtbot, panel, tmp_path):
    tab = panel.summarizer
    panel.tabs.setCurrentWidget(tab)
    panel.handle_drop([str(write_summarizer_jsonl(tmp_path / "pairs.jsonl"))])  # a drop fills the data
    _tiny_summarizer_form(tab, Path(tab.data.text()), epochs=40)  # 4 steps an epoch: 160 steps
    _click(qtbot, tab.start_button)  # in a child process, as in the app
    qtbot.waitUntil(lambda: tab.loss_plot.points("training") >= 1 and tab.metric_plot.points("ROUGE-L") >= 2,
                    timeout=LONG_MS)  # fmt: skip
    assert tab.loss_plot.points("validation NLL") >= 2 and not tab.start_button.isEnabled()
    _click(qtbot, tab.pause_button)  # the child waits between two steps
    assert tab.pause_button.text() == "Continue" and tab.status_text.startswith("Paused")
    qtbot.wait(800)  # a step under way when Pause was pressed may still report
    paused_at = tab.loss_plot.points("training")
    qtbot.wait(1200)
    assert tab.loss_plot.points("training") == paused_at and tab.job_id is not None
    _click(qtbot, tab.pause_button)  # Continue
    assert tab.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: tab.loss_plot.points("training") > paused_at, timeout=LONG_MS)
    _click(qtbot, tab.pause_button)  # paused again: Cancel still stops it
    _click(qtbot, tab.cancel_button)
    _wait_done(qtbot, tab)
    assert "cancelled" in tab.status_text and not tab.pause_button.isEnabled()
    assert tab.pause_button.text() == "Pause"
    run = _wait_row(qtbot, tab, "stopped")
    stopped = run["metrics"]["steps"]
    assert run["task"] == "summarizer" and 10 <= stopped < 160 and _curves(qtbot, tab, run)["rouge_l"]
    assert tab.runs.table.item(0, 9).text() == run["checkpoint"]  # the model folder, in the table
    tab.runs.select([run["id"]])
    _click(qtbot, tab.resume_button)
    _wait_done(qtbot, tab)
    done = _wait_row(qtbot, tab, "complete")
    assert done["id"] == run["id"] and done["metrics"]["steps"] == 160
    assert (
        tab.loss_plot.points("training") == len(_curves(qtbot, tab, done)["train_loss"]) == 16
    )  # one curve, both parts
    assert "best ROUGE-L" in tab.status_text and (Path(done["checkpoint"]) / "config.json").is_file()
    assert tab.runs.table.item(0, 5).text().startswith("ROUGE-L ")


def test_cancel_at_once_then_the_tab_trains_again(qtbot, panel, tmp_path):
    tab = panel.summarizer
    tab.isolate = False
    _tiny_summarizer_form(tab, write_summarizer_jsonl(tmp_path / "pairs.jsonl"), epochs=2)
    _click(qtbot, tab.start_button)
    _click(qtbot, tab.cancel_button)  # before the job has even begun, or at its first step
    _wait_done(qtbot, tab)
    assert "cancelled" in tab.status_text.lower() and tab.start_button.isEnabled()
    _click(qtbot, tab.start_button)
    _wait_done(qtbot, tab)
    assert _wait_row(qtbot, tab, "complete")["metrics"]["steps"] == 8


def test_captioner_shows_feature_extraction_and_trains(qtbot, panel, tmp_path):
    tab = panel.captioner
    tab.isolate = False
    images, captions = write_caption_set(tmp_path / "data")
    panel.tabs.setCurrentWidget(tab)
    panel.handle_drop([str(images)])  # a folder: the images
    panel.handle_drop([str(captions)])  # a file: the captions
    for box, value in ((tab.region, 16), (tab.embed, 8), (tab.hidden, 16), (tab.attn, 8), (tab.epochs, 2)):
        box.setValue(value)
    tab.batch.setValue(8)
    tab.min_count.setValue(1)
    tab.beam.setValue(1)
    _click(qtbot, tab.start_button)
    _wait_done(qtbot, tab)
    run = _wait_row(qtbot, tab, "complete")
    assert (
        tab.extract_bar.value() == tab.extract_bar.maximum() == 2
        and "2/2 (validation images)" in tab.extract_label.text()
    )
    assert tab.metric_plot.points("BLEU-4") == 2 and tab.metric_plot.points("CIDEr") == 2
    assert tab.loss_plot.points("validation") == 2 and run["task"] == "captioner"
    assert (Path(run["checkpoint"]) / "vocab.json").is_file() and "caption --model" in tab.status_text


def test_captioner_fine_tunes_a_trained_model_self_critically(qtbot, panel, tmp_path):
    tab = panel.captioner
    tab.isolate = False
    images, captions = write_caption_set(tmp_path / "data")
    panel.tabs.setCurrentWidget(tab)
    shipped = [tab.start_from.itemText(i) for i in range(tab.start_from.count())]
    assert shipped[0].startswith("A new model") and any("(shipped)" in t for t in shipped[1:])
    assert not tab.samples.isEnabled() and tab.hidden.isEnabled()
    tab.images.setText(str(images))
    tab.captions.setText(str(captions))
    for box, value in ((tab.region, 16), (tab.embed, 8), (tab.hidden, 16), (tab.attn, 8), (tab.epochs, 2)):
        box.setValue(value)
    tab.batch.setValue(8)
    tab.min_count.setValue(1)
    tab.beam.setValue(1)
    _click(qtbot, tab.start_button)  # a tiny cross-entropy captioner first
    _wait_done(qtbot, tab)
    base = _wait_row(qtbot, tab, "complete")
    tab.scan_models()  # as when the tab is shown again: the finished run is now a starting point
    i = tab.start_from.findData(str(base["checkpoint"]))
    assert i > 0 and "your run" in tab.start_from.itemText(i)
    tab.start_from.setCurrentIndex(i)
    assert tab.samples.isEnabled() and not tab.hidden.isEnabled() and not tab.lr.isEnabled()
    shipped_i = next(j for j in range(1, tab.start_from.count()) if "(shipped)" in tab.start_from.itemText(j))
    tab.start_from.setCurrentIndex(shipped_i)
    assert tab.hidden.value() == 512 and tab.fine_tune.value() == 1  # the shipped model's own sizes
    tab.start_from.setCurrentIndex(0)  # back to a new model: the sizes typed for it come back
    assert tab.hidden.value() == 16 and tab.fine_tune.value() == 0 and tab.hidden.isEnabled()
    tab.start_from.setCurrentIndex(i)
    tab.select_by.setCurrentIndex(tab.select_by.findData("val_loss"))
    _click(qtbot, tab.start_button)
    assert "BLEU-4 or CIDEr" in tab.status_text and tab.job_id is None  # refused before starting
    tab.select_by.setCurrentIndex(tab.select_by.findData("cider"))
    tab.samples.setValue(3)
    tab.max_steps.setValue(2)
    _click(qtbot, tab.start_button)
    qtbot.waitUntil(
        lambda: "self-critical fine-tuning of" in tab.status_text or tab.job_id is None, timeout=LONG_MS
    )
    _wait_done(qtbot, tab)
    run = _wait_row(qtbot, tab, "complete", after=base)  # the new run, not the base one still on top
    assert run["id"] != base["id"] and run["config"]["scst_from"] == str(base["checkpoint"])
    assert run["metrics"]["steps"] == 2 and tab.metric_plot.points("CIDEr") >= 2
    left = tab.runs.overlay.plot.getAxis("left")
    tab.runs.select([])
    assert "Select runs" in tab.runs.overlay.note.text() and not tab.runs.overlay.note.isHidden()
    tab.runs.select([run["id"]])  # compared by the metric it keeps the best by (once its curves are read)
    qtbot.waitUntil(lambda: left.labelText == "CIDEr", timeout=LONG_MS)
    assert tab.runs.overlay.names() and tab.runs.overlay.note.isHidden()


def test_forecaster_trains_previews_and_scores_without_resume(qtbot, panel, tmp_path):
    tab = panel.forecaster
    tab.isolate = False
    panel.tabs.setCurrentWidget(tab)
    panel.handle_drop([str(write_series_csv(tmp_path / "sales.csv"))])
    qtbot.waitUntil(lambda: tab.column.count() >= 1, timeout=LONG_MS)  # the file's numeric columns
    assert tab.column.currentText() == "sales" and not tab.resume_button.isVisible()
    tab.horizon.setValue(6)
    for key, value in TINY_LSTM.items():
        box = {"hidden": tab.hidden, "epochs": tab.epochs, "patience": tab.patience, "seeds": tab.seeds}.get(
            key
        )
        if box is not None:
            box.setValue(value)
    tab.seeds.setValue(2)  # two ensemble members: a curve each, named once in the legend
    _click(qtbot, tab.start_button)
    _wait_done(qtbot, tab)
    run = _wait_row(qtbot, tab, "complete")
    assert tab.loss_plot.points("training") == 4 and tab.loss_plot.points("validation") == 4
    assert (
        tab.loss_plot.points("training · member 2") == 4 and len(_curves(qtbot, tab, run)["train_loss"]) == 8
    )
    legend = [label.text for _, label in tab.loss_plot.legend.items]
    assert "training" in legend and "training · member 2" not in legend
    assert tab.preview.has_forecast() and "MAE" in tab.scores.text() and run["checkpoint"] is None
    tab.preview.clear()
    tab.runs.select([run["id"]])  # a recorded run shows its forecast again
    assert tab.preview.has_forecast()
    # and its LSTM settings go to the Forecast panel
    handed = recorder(panel.forecaster_settings)
    assert tab.use_button.isEnabled()
    _click(qtbot, tab.use_button)
    ((options, origin),) = handed.calls
    assert origin == f"Train run #{run['id']}" and options == run["config"]["lstm"] and options["seeds"] == 2
    # with history off a finished run has no id, and its settings still go over
    tab.on_result({"metrics": {"reason": "completed"}, "run_id": None})
    _click(qtbot, tab.use_button)
    assert handed.calls[-1] == (tab.last_config["lstm"], "the Train panel's last run")


def test_bad_files_get_clear_messages_and_record_nothing(qtbot, panel, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("name,colour\nann,red\nbob,blue\n", encoding="utf-8")
    images, _ = write_caption_set(tmp_path / "data")
    cases = (
        (panel.summarizer, lambda t: t.data.setText(str(table)), "expected an object with 'text'"),
        (panel.captioner, lambda t: (t.images.setText(str(images)), t.captions.setText(str(table))),
         "must name 'image' and 'caption' columns"),
        (panel.forecaster, lambda t: t.path.setText(str(table)), "no numeric column"),
    )  # fmt: skip
    finished = recorder(panel.service.job_finished)
    for tab, fill, message in cases:
        fill(tab)
        _click(qtbot, tab.start_button)
        _wait_done(qtbot, tab)
        assert message in tab.status_text and tab.start_button.isEnabled()
        qtbot.waitUntil(lambda t=tab: any(c[0] == t.runs_job for c in finished.calls), timeout=LONG_MS)
        assert tab.runs.runs == []  # the table, refreshed after the failure: no run was recorded
    empty = panel.summarizer
    empty.data.setText("")
    _click(qtbot, empty.start_button)
    assert empty.job_id is None and "Choose the training data" in empty.status_text


def test_too_large_and_disk_full_are_reported_and_the_run_resumes(qtbot, panel, tmp_path, monkeypatch):
    import safetensors.torch

    from engine import memory

    tab = panel.summarizer
    tab.isolate = False  # the patches below live in this process
    _tiny_summarizer_form(tab, write_summarizer_jsonl(tmp_path / "pairs.jsonl"), epochs=4)
    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": 100_000)
    _click(qtbot, tab.start_button)
    _wait_done(qtbot, tab)
    assert "This summarizer does not fit" in tab.status_text and "Choose smaller sizes" in tab.status_text
    assert "does not fit" in _wait_row(qtbot, tab, "error")["metrics"]["error"]  # recorded, with why
    monkeypatch.undo()

    real_save, calls = safetensors.torch.save_file, []

    def fills_up(tensors, filename, metadata=None):
        calls.append(filename)
        if len(calls) == 5:  # the third checkpoint
            raise OSError(errno.ENOSPC, "No space left on device", filename)
        return real_save(tensors, filename, metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", fills_up)
    _click(qtbot, tab.start_button)
    _wait_done(qtbot, tab)
    assert (
        "The disk is full" in tab.status_text and "last good checkpoint (step 8) is kept" in tab.status_text
    )
    qtbot.waitUntil(lambda: len(tab.runs.runs) == 2, timeout=LONG_MS)
    failed = tab.runs.runs[0]
    assert failed["status"] == "error" and tab.runs.runs[1]["status"] == "error"  # both, with why
    assert (
        failed["duration_s"] >= _curves(qtbot, tab, failed)["train_loss"][-1][2] > 0
    )  # how long it ran, too
    monkeypatch.undo()  # space freed
    tab.runs.select([failed["id"]])
    _click(qtbot, tab.resume_button)
    _wait_done(qtbot, tab)
    done = _wait_row(qtbot, tab, "complete")
    assert done["id"] == failed["id"] and done["metrics"]["steps"] == 16


def test_no_tab_attribute_hides_a_qt_method(panel):
    """A widget attribute named like a QWidget virtual (``self.metric = QComboBox()`` hides
    ``QWidget.metric()``) crashes Qt when it calls that virtual, e.g. on a theme change."""
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QWidget

    qt_names = set(dir(QWidget))
    for tab in (panel, *(panel.tabs.widget(i) for i in range(panel.tabs.count()))):
        hidden = [k for k, v in vars(tab).items() if k in qt_names and not isinstance(v, SignalInstance)]
        assert hidden == [], f"{type(tab).__name__} hides {hidden}"


def test_the_forecaster_tab_follows_a_new_files_columns_and_shows_undefined_scores_as_na(
    qtbot, panel, tmp_path
):
    """The old file's column stuck in the (editable) box and the run failed on "no column 'b'";
    a constant series showed "MASE nan" (bug hunt)."""
    from desktop.widgets.train_forecaster import _score

    tab = panel.forecaster
    panel.tabs.setCurrentWidget(tab)
    two = tmp_path / "two.csv"
    two.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(40)), encoding="utf-8")
    three = tmp_path / "three.csv"
    three.write_text("c\n" + "".join(f"{i}\n" for i in range(40)), encoding="utf-8")
    panel.handle_drop([str(two)])
    qtbot.waitUntil(lambda: tab.column.count() == 2, timeout=LONG_MS)
    tab.column.setCurrentText("b")
    panel.handle_drop([str(three)])
    qtbot.waitUntil(lambda: tab.column.count() == 1, timeout=LONG_MS)
    assert tab.column.currentText() == "c"
    assert _score(float("nan")) == _score(float("inf")) == "n/a" and _score(0.12345) == "0.123"


def test_the_forecaster_tab_says_no_checkpoint_once_and_shows_no_folder_column(train_panel):
    """Its form repeated the status line's note, its runs table had an always-empty "Model folder"
    column, and the empty "Selected runs" plot drew its log-axis ticks over each other."""
    from desktop.widgets.runs_table import FOLDER_COLUMN
    from desktop.widgets.train_forecaster import NO_RESUME

    tab = train_panel.forecaster
    labels = [w.text() for w in tab.findChildren(QLabel) if NO_RESUME in w.text()]
    assert labels == [tab.status.text()]
    assert tab.runs.table.isColumnHidden(FOLDER_COLUMN)
    assert not train_panel.dialogue.runs.table.isColumnHidden(FOLDER_COLUMN)
    assert tab.runs.overlay.widget.isHidden() and not tab.runs.overlay.note.isHidden()
