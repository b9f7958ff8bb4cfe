"""The Caption panel through the real window and engine service (offscreen) with the shipped
captioner: a folder end to end (grid, beams, a word's heat map from the model's attention, history
rows with the file's hash that search finds, reopening one), every bad file of the issue with its
own message while the batch goes on, a video's scene timeline, export, cancel, a missing model, and
a folder that keeps the event loop responsive. Every picture is drawn here, in tmp_path."""

from __future__ import annotations

import csv
import hashlib
import json
import time

import numpy as np
import pytest
from caption_fixtures import write_bad_files, write_clip, write_photo
from desktop_testkit import WAIT_MS, recorder, wait_done
from PySide6.QtCore import QTimer

from desktop import caption_export
from desktop import caption_ops as ops
from desktop.widgets.attention_image import UPSAMPLE, upsample
from engine.caption.captioner import caption_options

LONG_WAIT_MS = 120_000


@pytest.fixture
def panel(panel_of):
    return panel_of("caption")


@pytest.fixture(scope="module")
def captioner():
    return ops.load_captioner(ops.MODEL_FOLDER, "cpu")


def photos(folder, n, size=(320, 240)):
    folder.mkdir(parents=True, exist_ok=True)
    return [write_photo(folder / f"photo{i:03d}.png", seed=i, size=size) for i in range(n)]


def cell_text(panel, name):
    item = next(it for it in panel.items.values() if it["name"] == name)
    key = next(k for k, v in panel.items.items() if v is item)
    return item, panel.grid.cells[key].text(), panel.grid.state[key]


def argmax_cell(weights: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(int(np.argmax(weights)), weights.shape)
    return int(r) // UPSAMPLE, int(c) // UPSAMPLE


def test_folder_end_to_end_beams_heat_map_history_search_and_reopen(qtbot, panel, tmp_path, captioner):
    files = photos(tmp_path / "pics", 3)
    panel.handle_drop([str(tmp_path / "pics")])
    assert panel.busy and not panel.open_button.isEnabled() and panel.run_button.text() == "Cancel"
    wait_done(qtbot, panel)
    assert panel.stack.currentWidget() is panel.grid and panel.grid.count() == 3
    assert set(panel.grid.state.values()) == {"done"} and not panel.progress_row.isVisible()
    # the captions and maps are the model's own: the same as captioning the files directly
    direct = captioner.caption_files(files, caption_options(3), batch_size=ops.BATCH)
    shown = panel.shown_items()
    assert [it["name"] for it in shown] == [f.name for f in files]
    for it, ref in zip(shown, direct):
        assert it["caption"] == ref.caption.text and it["words"] == ref.caption.words
        assert np.allclose(it["attention"], ref.caption.attention, atol=1e-6)
        assert [a for a, _ in it["alternatives"]] == [a for a, _ in ref.caption.alternatives]
        assert panel.grid.cells[f"{panel_key(panel, it)}"].text() == it["caption"]
        assert it["thumb"].shape[2] == 3 and max(it["thumb"].shape[:2]) <= ops.THUMB_SIDE
    # the first is selected: large, with its words, score and the other beams
    first = shown[0]
    detail = panel.detail
    assert detail.item is first and detail.image.pixmap is not None
    assert [c.text() for c in detail.chips] == first["words"] and len(first["alternatives"]) == 2
    assert all(text in detail.beams.text() for text, _ in first["alternatives"])
    assert f"{first['logprob']:.2f}" in detail.score.text()
    # clicking a word draws its map over the picture, from the model's attention
    k = len(first["words"]) // 2
    detail.chips[k].click()
    assert detail.chips[k].isChecked() and detail.image.overlay is not None
    assert np.array_equal(detail.image.attention, first["attention"][k])
    target = np.unravel_index(int(np.argmax(first["attention"][k])), (7, 7))
    assert argmax_cell(detail.image.weights) == tuple(int(v) for v in target)
    assert detail.image.weights.shape == (7 * UPSAMPLE, 7 * UPSAMPLE)
    detail.chips[k].click()
    assert detail.image.overlay is None and not detail.chips[k].isChecked()
    # every caption is in the history with the file's SHA-256, never the picture
    rows = panel.run.rows("SELECT id, file_name, file_hash, caption, meta FROM captions ORDER BY id")
    assert [r["file_name"] for r in rows] == [f.name for f in files]
    for r, f, it in zip(rows, files, shown):
        assert r["file_hash"] == hashlib.sha256(f.read_bytes()).hexdigest() == it["sha256"]
        meta = json.loads(r["meta"])
        assert r["caption"] == it["caption"] and it["caption_id"] == r["id"]
        assert not {"thumb", "preview", "frame"} & set(meta) and len(r["meta"]) < 20_000
        assert meta["words"] == it["words"] and meta["beam"] == 3 and len(meta["alternatives"]) == 2
        assert np.allclose(meta["attention"], it["attention"], atol=1e-4)
    found = recorder(panel.service.search_done)
    word = max(first["words"], key=len)
    panel.service.search(word)
    qtbot.waitUntil(lambda: bool(found.calls), timeout=WAIT_MS)
    hits = [h for h in found.calls[0][1] if h["kind"] == "caption"]
    assert rows[0]["id"] in [h["id"] for h in hits]
    # reopening from the history: the caption, its maps and (the file is unchanged) the picture
    panel.clear()
    assert panel.grid.count() == 0 and panel.stack.currentWidget() is panel.drop_zone
    panel.run.window._open_history_item("caption", rows[0]["id"])
    wait_done(qtbot, panel)
    again = panel.detail.item
    assert again["caption"] == first["caption"] and again["caption_id"] == rows[0]["id"]
    assert again["preview"] is not None and np.allclose(again["attention"], first["attention"], atol=1e-4)
    assert "From the history" in panel.detail.note.text()
    panel.detail.chips[k].click()
    assert argmax_cell(panel.detail.image.weights) == tuple(int(v) for v in target)
    # a file changed since is not shown as if it were the captioned one
    files[0].write_bytes(files[1].read_bytes())
    panel.run.window._open_history_item("caption", rows[0]["id"])
    wait_done(qtbot, panel)
    assert panel.detail.item["preview"] is None and "has changed" in panel.detail.note.text()
    assert panel.grid.count() == 1  # the same history entry is shown once


def panel_key(panel, item):
    return next(k for k, v in panel.items.items() if v is item)


def test_bad_files_get_their_own_message_while_the_batch_goes_on_and_export(qtbot, panel, tmp_path):
    folder = tmp_path / "mixed"
    good = photos(folder, 2)
    expected = write_bad_files(folder)
    panel.handle_drop([str(folder)])
    wait_done(qtbot, panel, LONG_WAIT_MS)
    assert not panel.grid.waiting() and panel.grid.count() == len(expected) + 2
    for name, fragment in expected.items():
        item, text, state = cell_text(panel, name)
        if fragment:
            assert state == "error" and fragment in text and name in text, (name, text)
            assert item["caption"] == "" and item["caption_id"] is None
        else:  # CMYK, 16-bit, palette, animated GIF: odd but usable
            assert state == "done" and item["caption"] and text.endswith(item["caption"]), (name, text)
    for f in good:
        assert cell_text(panel, f.name)[2] == "done"
    n_bad = sum(1 for v in expected.values() if v)
    assert f"{n_bad} of {len(expected) + 2} files could not be used" in panel.message_label.text()
    assert f"{n_bad} could not be used" in panel.origin_label.text()
    n_good = len(expected) + 2 - n_bad
    assert len(panel.run.rows("SELECT id FROM captions")) == n_good
    # selecting a bad file says why, large
    bad_key = panel_key(panel, cell_text(panel, "truncated.jpg")[0])
    panel.grid.select(bad_key)
    assert "truncated" in panel.detail.image.placeholder and not panel.detail.chips
    # export: one CSV row per good image, JSON with the errors too (written on the engine thread)
    out_csv, out_json = tmp_path / "captions.csv", tmp_path / "captions.json"
    panel.export_to(str(out_csv), "csv")
    qtbot.waitUntil(lambda: f"to {out_csv}" in panel.message_label.text(), timeout=WAIT_MS)
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n_good and {r["file"] for r in rows} == {
        it["name"] for it in panel.shown_items() if not it["error"]
    }
    assert all(r["caption"] and len(r["sha256"]) == 64 for r in rows)
    panel.export_to(str(out_json), "json")
    qtbot.waitUntil(lambda: f"to {out_json}" in panel.message_label.text(), timeout=WAIT_MS)
    record = json.loads(out_json.read_text(encoding="utf-8"))
    assert len(record["captions"]) == n_good and len(record["errors"]) == n_bad
    # one-colour pictures (CMYK red, flat 16-bit gray, a GIF whose first frame is red) get a plain
    # caption, not the model's beams
    blank = {it["name"] for it in panel.shown_items() if it["low_information"]}
    assert blank == {"cmyk.jpg", "deep16.png", "anim.gif"}
    assert all(len(c["alternatives"]) == (0 if c["name"] in blank else 2) for c in record["captions"])
    panel.export_to(str(tmp_path / "no" / "such" / "dir.csv"), "csv")
    qtbot.waitUntil(lambda: "Could not export" in panel.message_label.text(), timeout=WAIT_MS)
    # a folder with nothing to caption: a message, and the grid as it was
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "readme.txt").write_text("no pictures here")
    panel.handle_drop([str(tmp_path / "texts")])
    wait_done(qtbot, panel)
    assert "No images or videos to caption in texts" in panel.message_label.text()
    assert panel.grid.count() == len(expected) + 2 and not panel.grid.waiting()


def test_video_gets_a_scene_timeline_with_frames_and_maps(qtbot, panel, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    clip = tmp_path / "clip.mp4"
    write_clip(clip, seconds=3.0, cut_at=1.5, size=(160, 96))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    panel.run.window.dropEvent(event)  # dropped on the window
    wait_done(qtbot, panel, LONG_WAIT_MS)
    (item,) = panel.shown_items()
    assert item["media"] == "video" and item["caption"] and len(item["scenes"]) == 2
    assert item["duration_s"] == pytest.approx(3.0, abs=0.2)
    assert item["scenes"][1]["start_s"] == pytest.approx(1.5, abs=0.15)
    assert item["scenes"][0]["until_s"] == item["scenes"][1]["start_s"]
    assert panel.grid.cells[panel_key(panel, item)].text() == "▶ " + item["caption"]
    detail = panel.detail
    assert detail.item is item and detail.timeline.isVisibleTo(panel) and detail.timeline.count() == 3
    assert "Whole clip" in detail.timeline.item(0).text()
    detail.timeline.setCurrentRow(2)
    scene = item["scenes"][1]
    assert detail.view is scene and detail.image.pixmap is not None
    assert [c.text() for c in detail.chips] == scene["words"]
    assert detail.image.pixmap.height() == ops.SCENE_HEIGHT
    blue = detail.image.pixmap.toImage().pixelColor(5, 5)
    assert blue.blue() > 150 > blue.red()  # the second scene's own frame
    detail.chips[0].click()
    assert argmax_cell(detail.image.weights) == tuple(
        int(v) for v in np.unravel_index(int(np.argmax(scene["attention"][0])), (7, 7))
    )
    (row,) = panel.run.rows("SELECT file_name, file_hash, meta FROM captions")
    meta = json.loads(row["meta"])
    assert row["file_hash"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert meta["media"] == "video" and [s["caption"] for s in meta["scenes"]] == [
        s["caption"] for s in item["scenes"]
    ]
    # reopened from the history: the frames come back from the unchanged file, by scene time
    panel.clear()
    panel.show_history_item("caption", row_id(panel))
    wait_done(qtbot, panel)
    (again,) = panel.shown_items()
    assert again["source"] == "history" and again["preview"] is not None
    assert all(s["frame"] is not None for s in again["scenes"])
    panel.detail.timeline.setCurrentRow(2)
    blue = panel.detail.image.pixmap.toImage().pixelColor(5, 5)
    assert blue.blue() > 150 > blue.red()
    clip.write_bytes(clip.read_bytes()[:-10] + b"0123456789")  # changed since: no frames shown
    panel.clear()
    panel.show_history_item("caption", row_id(panel))
    wait_done(qtbot, panel)
    (changed,) = panel.shown_items()
    assert changed["preview"] is None and "has changed since" in changed["note"]


def row_id(panel) -> int:
    return panel.run.rows("SELECT id FROM captions ORDER BY id DESC LIMIT 1")[0]["id"]


def test_beam_size_and_caption_again(qtbot, panel, tmp_path):
    from PySide6.QtGui import QGuiApplication

    (photo,) = photos(tmp_path / "one", 1)
    panel.beam.setValue(1)
    panel.handle_drop([str(photo)])
    wait_done(qtbot, panel)
    (greedy,) = panel.shown_items()
    assert greedy["beam"] == 1 and greedy["alternatives"] == [] and not panel.detail.beams.isVisibleTo(panel)
    panel.beam.setValue(4)
    panel.run_button.click()  # caption again, with beam 4
    wait_done(qtbot, panel)
    (beam4,) = panel.shown_items()
    assert beam4["beam"] == 4 and len(beam4["alternatives"]) == 3 and panel.detail.beams.isVisibleTo(panel)
    assert panel.grid.count() == 1 and len(panel.run.rows("SELECT id FROM captions")) == 2
    panel.copy_caption()
    assert QGuiApplication.clipboard().text() == beam4["caption"]


def _start_many(qtbot, panel, folder, n: int):
    """Caption ``n`` photos and wait for the first cell: (job id, a function: has the job ended)."""
    photos(folder, n, size=(96, 72))
    finished = recorder(panel.service.job_finished)
    failed = recorder(panel.service.job_failed)
    panel.handle_drop([str(folder)])
    job = panel.job_id
    qtbot.waitUntil(lambda: "done" in panel.grid.state.values(), timeout=LONG_WAIT_MS)
    return job, lambda: any(c[0] == job for c in finished.calls + failed.calls)


def test_cancel_keeps_what_was_captioned_and_leaves_a_clean_state(qtbot, panel, tmp_path):
    job, ended = _start_many(qtbot, panel, tmp_path / "many", 120)
    panel.run_button.click()  # Cancel
    assert not panel.busy and "Cancelled" in panel.message_label.text()
    assert panel.open_button.isEnabled() and panel.run_button.text() == "Caption again"
    qtbot.waitUntil(ended, timeout=LONG_WAIT_MS)
    qtbot.wait(50)
    assert job not in panel.cancelling and not panel.grid.waiting()
    done = [k for k, s in panel.grid.state.items() if s == "done"]
    assert 0 < len(done) == panel.grid.count() < 120
    assert not panel.progress_row.isVisible()
    # a batch that arrived after the click is counted in the message too
    assert f"Cancelled. {len(done)} caption" in panel.message_label.text()
    # what the grid shows is exactly what was saved: nothing half-done, nothing missing
    saved = {r["caption"] for r in panel.run.rows("SELECT caption FROM captions")}
    assert len(panel.run.rows("SELECT id FROM captions")) == len(done)
    assert {panel.items[k]["caption"] for k in done} == saved
    # and the panel works as before
    (extra,) = photos(tmp_path / "after", 1)
    panel.handle_drop([str(extra)])
    wait_done(qtbot, panel)
    assert panel.grid.count() == len(done) + 1 and not panel.grid.waiting()


def test_a_missing_or_broken_model_gives_a_banner_not_a_crash(qtbot, panel, tmp_path):
    (photo,) = photos(tmp_path / "one", 1)
    panel.model_folder = tmp_path / "no_model"
    panel.handle_drop([str(photo)])
    wait_done(qtbot, panel)
    assert panel.message.isVisibleTo(panel) and "caption model is missing" in panel.message_label.text()
    assert panel.grid.count() == 0 and panel.stack.currentWidget() is panel.drop_zone
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "model.safetensors", "vocab.json"):
        (broken / name).write_text("{not json")
    panel.model_folder = broken
    panel.handle_drop([str(photo)])
    wait_done(qtbot, panel)
    assert "could not be loaded" in panel.message_label.text() and panel.grid.count() == 0
    assert ops.model_problem(ops.MODEL_FOLDER) is None and "no_model" in ops.model_problem(
        tmp_path / "no_model"
    )


def test_a_folder_keeps_the_event_loop_responsive(qtbot, panel, tmp_path):
    photos(tmp_path / "folder", 48)
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(tick)
    timer.start()
    last[0] = started = time.perf_counter()
    panel.handle_drop([str(tmp_path / "folder")])
    wait_done(qtbot, panel, LONG_WAIT_MS)
    qtbot.wait(100)  # the last batch is shown on this thread: that counts too
    timer.stop()
    total = time.perf_counter() - started
    assert panel.grid.count() == 48 and set(panel.grid.state.values()) == {"done"}
    assert len(gaps) > 5
    # Decoding or captioning on this thread would stall the loop for a good part of the job; on a
    # loaded CI machine everything stretches, so the bound is relative to the job's own time.
    bound = max(0.25, total / 3)
    assert max(gaps) < bound, f"the event loop stalled {max(gaps) * 1000:.0f} ms of {total * 1000:.0f} ms"


def test_demo_fills_the_panel_synchronously(panel):
    from desktop.views import caption

    caption.demo(panel)
    items = panel.shown_items()
    assert len(items) == 8 and sum(1 for it in items if it["error"]) == 1
    assert panel.detail.item["media"] == "video" and panel.detail.timeline.isVisibleTo(panel)
    assert panel.detail.image.overlay is not None and panel.detail.word is not None
    assert not any(it.get("note") for it in items) and not panel.run.rows("SELECT id FROM captions")


# ------------------------------------------------------------------------------- engine-side ops
def test_upsample_is_smooth_and_keeps_the_peak_in_its_cell():
    rng = np.random.default_rng(0)
    att = rng.random((7, 7)).astype(np.float32)
    up = upsample(att, 8)
    assert up.shape == (56, 56) and att.min() - 1e-6 <= up.min() <= up.max() <= att.max() + 1e-6
    assert argmax_cell_of(up, 8) == np.unravel_index(int(np.argmax(att)), (7, 7))
    assert np.abs(np.diff(up, axis=1)).max() <= np.abs(np.diff(att, axis=1)).max() / 8 * 1.01 + 1e-6
    assert np.allclose(upsample(np.full((7, 7), 0.3), 4), 0.3)


def argmax_cell_of(up, factor):
    r, c = np.unravel_index(int(np.argmax(up)), up.shape)
    return (int(r) // factor, int(c) // factor)


def test_ops_without_history_and_exports_of_a_video(tmp_path):
    with pytest.raises(ValueError, match="History is off"):
        ops.open_caption(1, store=None)
    from engine.history import HistoryStore

    store = HistoryStore.open_in_memory()
    with pytest.raises(ValueError, match="no longer in the history"):
        ops.open_caption(5, store=store)
    other = store.add_caption("cat.jpg", "ab" * 32, "a cat sleeps on a sofa")  # saved by another program
    item = ops.open_caption(other, store=store)
    assert item["words"] == ["a", "cat", "sleeps", "on", "a", "sofa"] and item["attention"].shape == (0, 7, 7)
    assert "no longer at" in item["note"]
    store.close()
    scene = {"start_s": 0.0, "end_s": 1.0, "until_s": 1.5, "n_frames": 2, "caption": "a red screen"}
    video = {
        "name": "v.mp4",
        "path": "/x/v.mp4",
        "media": "video",
        "sha256": "f" * 64,
        "caption": "a screen",
        "logprob": -3.0,
        "beam": 3,
        "error": None,
        "alternatives": [],
        "scenes": [scene | {"logprob": -2.0, "alternatives": []}],
    }
    bad = {"name": "x.jpg", "path": "/x/x.jpg", "error": "x.jpg: empty file (0 bytes)"}
    rows = caption_export.export_rows([video, bad])
    assert rows[0] == caption_export.CSV_HEADER and len(rows) == 3
    assert rows[2][3:6] == [1, 0.0, 1.5] and rows[2][6] == "a red screen"
    record = caption_export.export_record([video, bad])
    assert record["captions"][0]["scenes"][0]["end_s"] == 1.5 and record["errors"][0]["file"] == "x.jpg"
    with pytest.raises(ValueError, match="unknown export format"):
        caption_export.write_export("/tmp/never", [video], "xml")
    formula = video | {"name": "=HYPERLINK(1).mp4", "path": "/x/=HYPERLINK(1).mp4", "caption": "+a screen"}
    out = tmp_path / "caps.csv"
    caption_export.write_export(str(out), [formula], "csv")
    with open(out, newline="", encoding="utf-8") as fh:
        first = list(csv.reader(fh))[1]
    assert first[0] == "'=HYPERLINK(1).mp4" and first[6] == "'+a screen"  # text, not a formula
    assert first[1] == "/x/=HYPERLINK(1).mp4"


def test_a_trained_captioner_is_offered_and_files_dropped_during_a_job_are_queued(qtbot, start_app, tmp_path):
    data = tmp_path / "data"
    run_dir = data / "models" / "run-0007-captioner"  # where the Train panel puts a finished run
    run_dir.mkdir(parents=True)
    for f in ops.MODEL_FOLDER.iterdir():
        (run_dir / f.name).symlink_to(f)
    (data / "models" / "run-0008-summarizer").mkdir()  # another task's run is not offered
    run = start_app(data_dir=data)
    run.window.select_panel("caption")
    panel = run.window.panels["caption"]
    panel.run = run
    picker = panel.model_picker
    names = [picker.combo.itemText(i) for i in range(picker.combo.count())]
    assert names == ["captioner", "run-0007-captioner"] and picker.combo.currentText() == "captioner"
    picker.combo.setCurrentIndex(1)
    picker.combo.activated.emit(1)
    assert panel.model_folder == run_dir
    photos(tmp_path / "many", 24, size=(96, 72))
    (late,) = photos(tmp_path / "late", 1)
    panel.handle_drop([str(tmp_path / "many")])
    assert panel.busy
    panel.handle_drop([str(late)])  # while the first job runs: queued, not refused
    assert "Queued 1 item:" in panel.message_label.text() and panel.queued == [str(late)]
    wait_done(qtbot, panel, LONG_WAIT_MS)
    assert panel.grid.count() == 25 and not panel.queued
    assert {it["model"] for it in panel.shown_items()} == {"run-0007-captioner"}
    metas = [json.loads(r["meta"]) for r in run.rows("SELECT meta FROM captions")]
    assert len(metas) == 25 and {m["model"] for m in metas} == {"run-0007-captioner"}
    # a queue is dropped, and said so, when the job is cancelled
    panel.handle_drop([str(tmp_path / "many")])
    panel.handle_drop([str(late)])
    panel.cancel()
    assert "1 item queued will not be captioned" in panel.message_label.text() and not panel.queued


def test_a_model_from_elsewhere_stays_shown_after_the_picker_looks_again(qtbot, tmp_path):
    from desktop.widgets.model_picker import TaskModelPicker

    outside = tmp_path / "my-captioner"  # chosen earlier, outside the folders the picker scans
    outside.mkdir()
    for f in ops.MODEL_FOLDER.iterdir():
        (outside / f.name).symlink_to(f)
    picker = TaskModelPicker("captioner", "caption model")
    qtbot.addWidget(picker)
    picker.rescan()
    picker.set_current(str(outside))
    assert picker.combo.currentData() == str(outside)
    picker.rescan_button.click()  # Rescan: the shipped model is found again, and the one in use kept
    assert picker.combo.currentData() == str(outside) and picker.combo.count() == 2


def test_clear_while_busy_stays_clear_when_a_late_batch_arrives(qtbot, panel, tmp_path):
    """With the GUI behind the worker, batches made before the click landed in the cleared grid,
    with no count and Clear and Export disabled (bug hunt)."""
    import time

    job, ended = _start_many(qtbot, panel, tmp_path / "many", 60)
    time.sleep(1.5)  # the GUI thread falls behind: more batches wait in the queue
    panel.clear()
    qtbot.waitUntil(ended, timeout=LONG_WAIT_MS)
    qtbot.wait(100)
    assert panel.grid.count() == 0 and not panel.items


def test_a_folder_dropped_twice_is_captioned_once_and_the_beam_is_locked_while_busy(qtbot, panel, tmp_path):
    photos(tmp_path / "few", 3)
    assert len(ops.list_media([str(tmp_path / "few"), str(tmp_path / "few")])) == 3
    panel.handle_drop([str(tmp_path / "few")])
    assert panel.busy and not panel.header.beam.isEnabled()
    wait_done(qtbot, panel)
    assert panel.header.beam.isEnabled()


def test_the_header_shows_icons_only_in_a_narrow_window(qtbot):
    """At the window's minimum width the buttons read "Open folc", "Expo", "tion ag" (bug hunt)."""
    from desktop.widgets.caption_header import CaptionHeader

    header = CaptionHeader()
    qtbot.addWidget(header)
    header.show()
    header.resize(800, 52)
    qtbot.waitUntil(lambda: header.folder_button.text() == "")
    assert header.open_button.text() == header.export_button.text() == "" and header.clear_button.text()
    assert header.folder_button.toolTip()  # still says what it does
    header.resize(1400, 52)
    qtbot.waitUntil(lambda: header.folder_button.text() == "Open folder…")
