"""The Train panel's lecture tabs with the real engine service: compare, gradient flow, gates, LM."""

from __future__ import annotations

import pytest
from desktop_testkit import recorder
from PySide6.QtCore import Qt

LONG_MS = 30000
TINY_TEXT = (
    "The cat sat on the mat. The dog sat on the log. A cat and a dog played in the park. "
    "The bird sang in the tree. My dog likes the park. The cat likes the warm mat. "
) * 6


@pytest.fixture
def panel(train_panel):
    return train_panel


def test_compare_cells_plots_accuracy_against_length(qtbot, panel):
    tab = panel.compare
    tab.task.setCurrentIndex(tab.task.findData("adding"))
    for key, box in tab.cell_boxes.items():
        box.setChecked(key in ("rnn", "gru"))
    tab.lengths.setText("4, 8")
    tab.steps.setValue(4)
    tab.hidden.setValue(4)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=LONG_MS)
    assert tab.plot.points("rnn") == 2 and tab.plot.points("gru") == 2 and tab.plot.points("chance") == 2
    assert all(0.0 <= a <= 1.0 for accs in tab.result["accuracy"].values() for a in accs)
    # kept in the history: listed under "Earlier comparisons" and plotted again from there
    qtbot.waitUntil(lambda: tab.earlier.count() == 1 and tab.earlier.isEnabled(), timeout=LONG_MS)
    assert tab.earlier.itemText(0).startswith(f"#{tab.result['run_id']} adding: gru, rnn")
    kept = tab.result
    tab.plot.clear()
    tab.earlier.activated.emit(0)
    assert tab.plot.points("rnn") == 2 and tab.plot.points("gru") == 2 and tab.plot.points("chance") == 2
    assert tab.earlier.itemData(0)["accuracy"] == kept["accuracy"]  # JSON keeps these floats exactly
    finished = recorder(panel.service.job_finished)
    panel.dialogue.refresh_runs()  # the chat model's runs table leaves comparisons to their tab
    qtbot.waitUntil(lambda: any(c[0] == panel.dialogue.runs_job for c in finished.calls), timeout=LONG_MS)
    (runs,) = [c[1] for c in finished.calls if c[0] == panel.dialogue.runs_job]
    assert [r["task"] for r in runs] == ["compare-cells"] and panel.dialogue.runs.table.rowCount() == 0


def test_bad_lengths_get_a_message_and_nothing_runs(qtbot, panel):
    tab = panel.compare
    tab.lengths.setText("5, ten")
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert tab.job_id is None and "whole numbers" in tab.status.text()
    tab.lengths.setText("6, 2, 4, 4")  # a curve over increasing lengths, each trained once
    assert tab.config()["lengths"] == [2, 4, 6]
    for box in tab.cell_boxes.values():
        box.setChecked(False)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert tab.job_id is None and "at least one cell" in tab.status.text()
    assert tab.bar.maximum() != 0  # not left in the busy animation


def test_gradient_flow_is_plotted_live(qtbot, panel):
    tab = panel.flow
    tab.length.setValue(8)
    tab.steps.setValue(10)
    tab.every.setValue(5)
    tab.clip_on.setChecked(True)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=LONG_MS)
    assert tab.probes == 3  # before training, after step 5 and step 10
    assert tab.plot.points("before training") == 8 and tab.plot.points("at the latest step") == 8
    assert tab.grad_plot.points("parameters") == 3 and "clip level" in tab.grad_plot.names()
    tab.clip_on.setChecked(False)  # the form changed after the run: the run's clip level stays drawn
    tab.progress(tab.result["probes"][-1])
    assert "clip level" in tab.grad_plot.names()
    tab.cell.setCurrentIndex(tab.cell.findData("lstm"))
    assert not tab.identity.isEnabled()


def test_gates_heat_maps_for_parity_bits(qtbot, panel):
    tab = panel.gates
    tab.cell.setCurrentIndex(tab.cell.findData("lstm"))
    tab.bits.setText("1011")
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=LONG_MS)
    assert {"input", "forget", "output"} <= set(tab.maps.images)
    assert tab.maps.images["forget"].image.shape == (16, 4)  # hidden units x time steps


def _chat_model_button(tab):
    from PySide6.QtWidgets import QPushButton

    (button,) = [b for b in tab.findChildren(QPushButton) if b.text() == "Chat model"]
    return button


def test_gates_and_embeddings_of_the_shipped_chat_model(qtbot, panel, tmp_path):
    from desktop.paths import SHIPPED_MODELS

    tab = panel.gates
    qtbot.mouseClick(_chat_model_button(tab), Qt.MouseButton.LeftButton)
    assert tab.model.text() == str(SHIPPED_MODELS / "dialogue") and tab.source.currentData() == "text"
    tab.text.setText("do you like music")
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=LONG_MS)
    assert {"update", "reset"} <= set(tab.maps.images) and "utterance encoder" in tab.status.text()
    units, steps = tab.maps.images["update"].image.shape
    assert units == 192 and steps == len(tab.result["tokens"]) >= 5  # the shipped encoder's 192 units
    emb = panel.embeddings
    qtbot.mouseClick(_chat_model_button(emb), Qt.MouseButton.LeftButton)
    assert emb.model.text() == str(SHIPPED_MODELS / "dialogue") and emb.text_path.text() == "chitchat"
    text = tmp_path / "chat.txt"  # a small text keeps the gensim part quick here
    text.write_text(TINY_TEXT)
    emb.text_path.setText(str(text))
    emb.word.setText("dog")
    qtbot.mouseClick(emb.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: emb.result is not None, timeout=LONG_MS)
    assert emb.model_list.count() == 9 and emb.gensim_list.count() >= 2  # header + 8 neighbours


def test_a_cancelled_language_model_run_is_resumed_from_the_tab(qtbot, panel, tmp_path):
    tab = panel.lm
    assert tab.resume_choice.currentData() is None and not tab.resume_button.isEnabled()
    text = tmp_path / "text.txt"
    text.write_text(TINY_TEXT * 4)
    tab.text_path.setText(str(text))
    tab.emb.setValue(8)
    tab.hidden.setValue(16)
    tab.epochs.setValue(400)
    tab.vocab.setValue(300)
    qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.plot.points("validation") >= 2, timeout=LONG_MS)
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.train_job is None, timeout=LONG_MS)
    assert "cancelled" in tab.status.text()
    qtbot.waitUntil(lambda: tab.resume_choice.currentData() is not None, timeout=LONG_MS)
    run_id = tab.resume_choice.currentData()
    stopped = tab._resumable[run_id]["metrics"]["steps"]
    tab.text_path.setText("")
    tab.epochs.setValue(1)  # the run's own settings are used, not the form's
    qtbot.mouseClick(tab.resume_button, Qt.MouseButton.LeftButton)
    assert tab.text_path.text() == str(text) and not tab.resume_button.isEnabled()
    qtbot.waitUntil(lambda: tab.plot.points("training") >= 1, timeout=LONG_MS)
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.train_job is None, timeout=LONG_MS)
    qtbot.waitUntil(lambda: tab.resume_choice.currentData() == run_id, timeout=LONG_MS)
    assert tab._resumable[run_id]["metrics"]["steps"] > stopped  # it went on from where it stopped


def test_language_model_trains_generates_and_plays(qtbot, panel, tmp_path):
    tab = panel.lm
    text = tmp_path / "text.txt"
    text.write_text(TINY_TEXT)
    tab.text_path.setText(str(text))
    tab.emb.setValue(8)
    tab.hidden.setValue(16)
    tab.epochs.setValue(2)
    tab.vocab.setValue(300)
    qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.train_job is None and bool(tab.folder), timeout=LONG_MS)
    assert tab.plot.points("training") >= 1 and panel.gates.model.text() == tab.folder
    qtbot.mouseClick(tab.gen_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.generated.text() not in ("", "…"), timeout=LONG_MS)
    assert tab.generated.text().lower().startswith("the")
    greedy = []
    tab.gen_method.setCurrentIndex(tab.gen_method.findData("greedy"))
    tab.gen_len.setValue(5)
    assert tab.decoding_options()["method"] == "greedy" and tab.decoding_options()["max_len"] == 5
    for _ in range(2):  # greedy decoding is deterministic: the options reached the decoder
        tab.generated.setText("")
        qtbot.mouseClick(tab.gen_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: tab.generated.text() not in ("", "…"), timeout=LONG_MS)
        greedy.append(tab.generated.text())
    assert greedy[0] == greedy[1]
    tab.gen_method.setCurrentIndex(tab.gen_method.findData("sample"))
    tab.gen_top_k.setValue(1)  # sampling from the single most likely piece is greedy decoding
    tab.gen_temperature.setValue(2.5)
    assert tab.decoding_options()["top_k"] == 1 and tab.decoding_options()["top_p"] == pytest.approx(0.9)
    tab.generated.setText("")
    qtbot.mouseClick(tab.gen_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.generated.text() not in ("", "…"), timeout=LONG_MS)
    assert tab.generated.text() == greedy[0]
    qtbot.mouseClick(tab.game_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.round is not None, timeout=LONG_MS)
    assert tab.a_label.text().startswith("A: ") and tab.pick_a.isEnabled()
    qtbot.mouseClick(tab.pick_a, Qt.MouseButton.LeftButton)
    assert tab.score[1] == 1 and "was the model" in tab.verdict.text()
