"""The Summarize panel's abstractive method through the real window and engine service (offscreen),
with the tiny really-trained pointer-generator: the summary equals the engine's for the same text
and beam, the heat map is summary words × source words with the model's weights, the beams, the
copied words, the attention shading, history (saved, found, reopened with its map), cancel, bad
input and a missing or broken model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from desktop_testkit import WAIT_MS, recorder

from desktop import abstractive_ops as ab_ops
from desktop import summarize_ops as ops
from desktop.paths import RESOURCES

SAMPLE = RESOURCES / "samples" / "article_ferry.txt"


@pytest.fixture
def panel(panel_of, tiny_summarizer_model):
    p = panel_of("summarize")
    p.model_folder = tiny_summarizer_model
    return p


@pytest.fixture(scope="module")
def abstractor(tiny_summarizer_model):
    from engine.summarize.abstractive import Abstractor

    return Abstractor.load(tiny_summarizer_model, "cpu")


def run_and_wait(qtbot, panel, timeout=WAIT_MS):
    panel.controls.run_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=timeout)


def choose_abstractive(panel, beam: int = 4) -> None:
    panel.controls.abstractive_button.click()
    panel.controls.beam.setValue(beam)


def test_method_control_switches_length_off_and_beam_on(panel):
    c = panel.controls
    assert c.method() == "textrank" and c.length_box.isEnabled() and not c.beam.isVisibleTo(panel)
    assert c.abstractive_button.isEnabled() and "headline-style" in c.abstractive_button.toolTip()
    c.abstractive_button.click()
    assert c.method() == "abstractive" and not c.length_box.isEnabled() and c.beam.isVisibleTo(panel)
    assert c.beam.value() == 4 and not c.variant.isVisibleTo(panel)
    assert c.settings()["method"] == "abstractive" and c.settings()["beam"] == 4
    c.textrank_button.click()
    assert c.length_box.isEnabled() and not c.beam.isVisibleTo(panel) and c.variant.isVisibleTo(panel)


def test_abstractive_end_to_end_matches_the_engine_and_is_saved_found_and_reopened(qtbot, panel, abstractor):
    from engine.summarize.abstractive import source_of, summarize_text

    text = SAMPLE.read_text(encoding="utf-8")
    panel.source.setPlainText(text)
    choose_abstractive(panel, beam=3)
    run_and_wait(qtbot, panel)
    result = panel.result
    assert result is not None and result["method"] == "abstractive" and result["indices"] == []
    expected = summarize_text(abstractor, result["text"], beam=3, n_keywords=8)
    sentence = expected.sentences[0]
    assert result["sentences"] == expected.sentences and sentence in panel.summary.text.toPlainText()
    assert result["keywords"] == expected.keywords == panel.summary.chips.keywords()
    # the heat map: rows = the summary's words, columns = the source words read, weights from the model
    details = panel.summary.abstractive
    att = expected.extras["attention"]
    heat = details.heat
    assert details.isVisibleTo(panel) and heat is not None and heat.isVisibleTo(panel)
    assert heat.rows == att["rows"] and [w.lower() for w in heat.rows] == sentence.lower().split()
    source_words = source_of(result["text"]).split()
    assert heat.cols == att["cols"] and heat.cols[:-1] == source_words[: len(heat.cols) - 1]
    assert source_words[len(heat.cols) - 1].startswith(heat.cols[-1])  # the read limit may cut a word
    assert heat.image.image.shape == (len(heat.rows), len(heat.cols))
    np.testing.assert_allclose(heat.image.image, att["values"], rtol=1e-6)  # what is drawn
    assert float(np.max(heat.values)) > 0.2
    # the beams, best first by the score beam search ranks them by, with their log-probabilities
    alternatives = expected.extras["alternatives"]
    assert len(details.beam_rows) == 3 and details.beam_rows[0] == (
        sentence,
        pytest.approx(expected.extras["log_prob"]),
        pytest.approx(expected.extras["score"]),
    )
    assert details.beam_rows[1:] == [
        (a["text"], pytest.approx(a["log_prob"]), pytest.approx(a["score"])) for a in alternatives
    ]
    scores = [row[2] for row in details.beam_rows]
    assert scores == sorted(scores, reverse=True)  # "best first" holds for the numbers shown
    assert all(a["text"] in details.beams.text() for a in alternatives)
    # copied words: the model was trained to copy, so every word is marked copied
    assert panel.summary.copy_shares == pytest.approx(expected.extras["copy"])
    assert min(expected.extras["copy"]) > 0.5 and "underline" in panel.summary.text.toHtml()
    # the source is shaded by the attention share of each sentence
    assert result["scores"] == pytest.approx(expected.scores) and panel.source.shaded
    top = max(range(len(result["scores"])), key=result["scores"].__getitem__)
    assert result["shade"]["levels"][top] == 1.0 and panel.source.chosen == []
    assert "attention share" in panel.source.describe(top)
    assert any("first 13 words" in n for n in result["notes"])
    assert "beam 3" in panel.summary.stats.text() and "saved in history" in panel.summary.stats.text()
    # saved in history with its method, settings and attention, found by search
    rows = panel.run.rows("SELECT id, source, summary, method, meta FROM summaries")
    assert len(rows) == 1 and rows[0]["method"] == "abstractive" and rows[0]["summary"] == sentence
    meta = json.loads(rows[0]["meta"])
    assert meta["settings"]["method"] == "abstractive" and meta["settings"]["beam"] == 3
    assert meta["extras"]["attention"]["rows"] == att["rows"] and len(meta["extras"]["alternatives"]) == 2
    found = recorder(panel.service.search_done)
    panel.service.search("Carrow mainland")
    qtbot.waitUntil(lambda: bool(found.calls), timeout=WAIT_MS)
    hits = [h for h in found.calls[0][1] if h["kind"] == "summary"]
    assert [h["id"] for h in hits] == [rows[0]["id"]]
    # reopened from the history: the same sentence, map, beams and shading, and its settings
    panel.clear()
    panel.controls.textrank_button.click()
    panel.run.window._open_history_item("summary", hits[0]["id"])
    qtbot.waitUntil(lambda: not panel.busy and panel.result is not None, timeout=WAIT_MS)
    again = panel.result
    assert again["sentences"] == [sentence] and again["method"] == "abstractive"
    assert panel.controls.method() == "abstractive" and panel.controls.beam.value() == 3
    assert heat.rows == att["rows"] and heat.cols == att["cols"]
    np.testing.assert_allclose(heat.image.image, att["values"], rtol=1e-3, atol=1e-7)
    assert [row[0] for row in details.beam_rows] == [sentence] + [a["text"] for a in alternatives]
    assert again["scores"] == pytest.approx(expected.scores, rel=1e-5) and panel.source.shaded


def test_heat_map_can_crop_to_the_attended_words_and_open_larger(qtbot, panel):
    panel.source.setPlainText(SAMPLE.read_text(encoding="utf-8"))
    choose_abstractive(panel)
    run_and_wait(qtbot, panel)
    details = panel.summary.abstractive
    att = panel.result["extras"]["attention"]
    assert details.shown_cols == (0, len(att["cols"]))
    details.crop.setChecked(True)
    lo, hi = details.shown_cols
    assert details.heat.cols == att["cols"][lo:hi] and details.heat.values == [
        r[lo:hi] for r in att["values"]
    ]
    best = [max(range(len(r)), key=r.__getitem__) for r in att["values"]]
    assert all(lo <= j < hi for j in best)  # where each summary word looked most is kept
    details.toggle.click()  # collapse the section
    assert not details.section.isVisibleTo(panel)
    details.toggle.click()
    assert details.section.isVisibleTo(panel)
    dialog = details.open_large()
    assert dialog is not None and dialog.isVisible()
    dialog.close()


def test_attended_window():
    values = [[0.0, 0.01, 0.5, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0, 0, 0, 0]]
    assert ab_ops.attended_window(values, share=0.05, pad=0) == (2, 5)
    assert ab_ops.attended_window(values, share=0.05, pad=3) == (0, 8)
    assert ab_ops.attended_window([]) == (0, 0) and ab_ops.attended_window([[0.0, 0.0]]) == (0, 2)


def test_cancel_reaches_the_decoder_and_nothing_is_saved(qtbot, panel, abstractor):
    from engine.history import HistoryStore

    class LateCancel:
        """Cancelled from its third look on: only a decoder checking between steps sees it in time."""

        reads = 0

        @property
        def cancelled(self):
            self.reads += 1
            return self.reads >= 3

    store = HistoryStore.open_in_memory()
    token = LateCancel()
    settings = {**ops.default_settings(), "method": "abstractive"}
    text = SAMPLE.read_text(encoding="utf-8")
    run = ab_ops.runner(abstractor)
    assert ops.summarize_text(text, settings, store=store, cancel=token, runner=run) == {"cancelled": True}
    assert store.list_summaries() == []
    store.close()
    # in the panel: cancelled at once, the late answer is ignored and nothing is saved
    panel.source.setPlainText(text)
    choose_abstractive(panel)
    finished, failed = recorder(panel.service.job_finished), recorder(panel.service.job_failed)
    panel.controls.run_button.click()
    job = panel.job_id
    assert panel.busy and panel.controls.run_button.text() == "Cancel"
    panel.controls.run_button.click()
    assert not panel.busy and "Cancelled" in panel.message_label.text()
    qtbot.waitUntil(lambda: bool(finished.calls or failed.calls), timeout=WAIT_MS)
    assert finished.calls == [(job, {"cancelled": True})] or "cancelled" in failed.calls[0][1]
    assert not panel.run.rows("SELECT id FROM summaries") and panel.result is None


def test_a_missing_or_broken_model_gets_a_clear_message(qtbot, panel, tmp_path, tiny_summarizer_model):
    panel.source.setPlainText(SAMPLE.read_text(encoding="utf-8"))
    panel.model_folder = tmp_path / "no_model"
    assert "not installed" in panel.controls.abstractive_button.toolTip()
    panel.controls.abstractive_button.click()
    assert (
        panel.message.isVisibleTo(panel)
        and "abstractive model is not installed" in panel.message_label.text()
    )
    assert (
        not panel.controls.run_button.isEnabled() and "not installed" in panel.controls.run_button.toolTip()
    )
    panel.summarize()  # Ctrl+Enter: the job says the same
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert "not installed" in panel.message_label.text() and panel.result is None
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ab_ops.MODEL_FILES:
        (broken / name).write_text("{not a model")
    panel.model_folder = broken
    assert panel.controls.run_button.isEnabled()
    run_and_wait(qtbot, panel)
    assert "could not be loaded" in panel.message_label.text() and panel.result is None
    panel.controls.textrank_button.click()  # TextRank still works
    run_and_wait(qtbot, panel)
    assert panel.result is not None and panel.result["method"] == "textrank"
    assert ab_ops.model_problem(tiny_summarizer_model) is None
    assert "does not exist" in ab_ops.model_problem(tmp_path / "no_model")


@pytest.mark.parametrize(("text", "message"), [("   \n ", "empty"), ("!!! ??? ... --- *** ###", "no words")])
def test_bad_input_gets_a_message(qtbot, panel, text, message):
    choose_abstractive(panel)
    panel.source.setPlainText(text)
    panel.summarize()
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert message in panel.message_label.text() and panel.result is None
    assert not panel.run.rows("SELECT id FROM summaries")


def test_export_and_demo(qtbot, panel, tmp_path):
    from desktop.views import summarize

    summarize.demo(panel, method="abstractive")
    result = panel.result
    assert result["method"] == "abstractive" and panel.summary.abstractive.heat is not None
    assert not any("History is off" in n for n in result["notes"]) and panel.source.shaded
    record = json.loads(ops.export_text(result, "json"))
    assert record["sentences"] == result["sentences"] and record["extras"]["attention"]["rows"]
    assert record["beam"] == 4 and "abstractive" in ops.export_text(result, "md")
    summarize.demo(panel, method="textrank")
    assert panel.result["method"] == "textrank" and not panel.summary.abstractive.isVisibleTo(panel)


def test_a_long_text_reopened_without_stored_spans(abstractor, monkeypatch):
    from engine.history import HistoryStore

    monkeypatch.setattr(ops, "MAX_STORED_SENTENCES", 3)  # as for a text of very many sentences
    store = HistoryStore.open_in_memory()
    text = SAMPLE.read_text(encoding="utf-8")
    settings = {**ops.default_settings(), "method": "abstractive"}
    result = ops.summarize_text(text, settings, store=store, runner=ab_ops.runner(abstractor))
    meta = store.list_summaries()[0]["meta"]
    assert "spans" not in meta and 0 < len(meta["scores"]) < len(result["scores"])  # the lead only
    again = ops.open_summary(result["summary_id"], store=store)
    assert again["spans"] == result["spans"] and again["scores"] == pytest.approx(result["scores"], rel=1e-5)
    assert again["extras"]["attention"]["cols"] == result["extras"]["attention"]["cols"]
    stored = ab_ops.stored_extras({"attention": {"values": [[0.123456789]]}, "copy": [0.987654321]})
    assert stored["attention"]["values"] == [[0.1235]] and stored["copy"] == [0.9877]
    store.close()


def test_a_trained_summarizer_is_offered_with_the_abstractive_method(
    qtbot, start_app, tmp_path, tiny_summarizer_model
):
    data = tmp_path / "data"
    run_dir = data / "models" / "run-0003-summarizer"  # where the Train panel puts a finished run
    run_dir.mkdir(parents=True)
    for f in tiny_summarizer_model.iterdir():
        (run_dir / f.name).symlink_to(f)
    run = start_app(data_dir=data)
    run.window.select_panel("summarize")
    panel = run.window.panels["summarize"]
    picker = panel.model_picker
    assert not picker.isVisibleTo(panel)  # TextRank needs no model
    choose_abstractive(panel, beam=2)
    assert picker.isVisibleTo(panel)
    names = [picker.combo.itemText(i) for i in range(picker.combo.count())]
    assert names == ["summarizer", "run-0003-summarizer"] and picker.combo.currentText() == "summarizer"
    picker.combo.setCurrentIndex(1)
    picker.combo.activated.emit(1)
    assert panel.model_folder == run_dir
    panel.source.setPlainText(SAMPLE.read_text(encoding="utf-8"))
    run_and_wait(qtbot, panel)
    assert panel.result["method"] == "abstractive" and panel.result["extras"]["model"] == str(run_dir)
