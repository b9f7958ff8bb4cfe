"""The window as a whole: restart, bad data folders, bad input, responsiveness, panels."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path

from desktop_testkit import WAIT_MS, LatencyProbe, recorder
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel, QWidget

ROOT = Path(__file__).resolve().parents[2]


def test_restart_on_same_data_folder_shows_same_conversations(qtbot, start_app, send_message, tmp_path):
    data = tmp_path / "same"
    first = start_app(data_dir=data)
    send_message(first, "remember me")
    first.chat.new_chat()
    send_message(first, "and me too")
    first.service.shutdown()
    first.window.close()
    second = start_app(data_dir=data)
    lst = second.chat.history.conversations
    qtbot.waitUntil(lambda: len(lst.ids()) == 2, timeout=WAIT_MS)
    titles = [lst.item_for(cid).text() for cid in lst.ids()]
    assert titles == ["and me too", "remember me"]  # newest first
    lst.setCurrentItem(lst.item_for(lst.ids()[1]))
    qtbot.waitUntil(lambda: len(second.chat.messages.order) == 2, timeout=WAIT_MS)
    texts = [second.chat.messages.rows[m].full_text() for m in second.chat.messages.order]
    assert texts == ["remember me", first.loader.bots[0].script]
    assert second.window.status.history.text() == "History: on"


def test_empty_message_disables_send(qtbot, start_app):
    run = start_app()
    composer = run.chat.composer
    assert not composer.send_button.isEnabled()
    composer.set_text("   \n  ")
    assert not composer.send_button.isEnabled()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert not run.chat.generating and run.rows("SELECT id FROM messages") == []
    composer.set_text("hi")
    assert composer.send_button.isEnabled()
    composer.edit.clear()
    assert not composer.send_button.isEnabled()


def test_shift_enter_makes_a_newline(qtbot, start_app):
    run = start_app()
    edit = run.chat.composer.edit
    qtbot.keyClicks(edit, "line one")
    qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(edit, "line two")
    assert edit.toPlainText() == "line one\nline two" and not run.chat.generating


def test_unwritable_data_folder_opens_with_history_off(qtbot, start_app, send_message, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    run = start_app(data_dir=blocker / "data")  # cannot be created, even as root
    qtbot.waitUntil(lambda: run.window.status.history.text().startswith("History: off"), timeout=WAIT_MS)
    notice = run.window.notices.notices()[0]
    assert (
        notice.level == "warning" and "cannot be created" in notice.text and "History is off" in notice.text
    )
    send_message(run, "still works")  # chat works, kept in memory only
    assert len(run.chat.messages.order) == 2
    assert not (blocker / "data").exists()


def test_damaged_database_is_moved_aside_with_a_notice(qtbot, start_app, tmp_path):
    data = tmp_path / "damaged"
    data.mkdir()
    (data / "history.db").write_bytes(b"this is not an sqlite database" * 100)
    run = start_app(data_dir=data)
    qtbot.waitUntil(lambda: bool(run.window.notices.notices()), timeout=WAIT_MS)
    notice = run.window.notices.notices()[0]
    assert "damaged" in notice.text and "moved aside" in notice.text
    moved = list(data.glob("history.db.corrupt-*"))
    assert len(moved) == 1 and str(moved[0]) in notice.text
    assert run.window.status.history.text() == "History: on"


def test_megabyte_paste_is_accepted_and_truncated_for_the_model(qtbot, start_app, send_message):
    run = start_app()
    big = ("All work and no play makes a dull bot. " * 30000)[:1_000_000]
    t0 = time.perf_counter()
    run.chat.composer.set_text(big)  # what a paste does
    assert run.chat.composer.send_button.isEnabled()
    send_message(run, big)
    assert time.perf_counter() - t0 < 60  # a guard against hanging, not a speed claim
    stored = run.rows("SELECT text FROM messages WHERE role = 'user'")[0]["text"]
    assert stored == big
    turns = run.loader.bots[0].calls[0]["turns"]
    assert sum(len(t) for t in turns) <= run.loader.bots[0].max_context_chars
    row = run.chat.messages.rows[run.chat.messages.order[0]]
    assert row.full_text() == big and len(row.text.text()) < 100_000  # shown cut, copied whole
    assert "showing the first" in row.text.text()


def test_event_loop_stays_responsive_during_a_long_generation(qtbot, start_app):
    run = start_app(script=" ".join(["tok"] * 300), delay_s=0.004)
    run.chat.composer.set_text("go on")
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: run.chat.live_bid is not None, timeout=WAIT_MS)
    probe = LatencyProbe()
    qtbot.keyClicks(run.chat.history.search, "typing while it streams")
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=20000)
    probe.timer.stop()
    gaps = probe.gaps
    assert len(gaps) > 20
    # the target is 100 ms; only on a machine already saturated by other programs (more runnable
    # processes than cores), where the scheduler alone can hold any thread back, is it 250 ms
    limit = 0.1 if os.getloadavg()[0] / (os.cpu_count() or 1) < 1.0 else 0.25
    assert max(gaps) < limit, f"event loop stalled for {max(gaps) * 1000:.0f} ms"


def test_no_model_found_shows_a_clear_state_and_blocks_send(qtbot, start_app):
    run = start_app(models=())
    qtbot.waitUntil(lambda: run.chat.banner.isVisible(), timeout=WAIT_MS)
    assert "No chat model found" in run.chat.banner.label.text()
    run.chat.composer.set_text("hello?")
    assert not run.chat.composer.send_button.isEnabled()
    assert "No chat model" in run.chat.composer.send_button.toolTip()
    assert "No chat model" in run.window.status.state.text()


def test_broken_model_reports_the_error_and_the_app_keeps_working(qtbot, start_app):
    run = start_app(fail="model.safetensors: weights do not fit the config")
    qtbot.waitUntil(lambda: run.chat.model_state == "none", timeout=WAIT_MS)
    assert "weights do not fit" in run.chat.banner.label.text()
    run.chat.new_chat()  # the window still works
    assert run.chat.center_stack.currentWidget() is run.chat.empty


def test_unbuilt_panel_says_so(qtbot, start_app, monkeypatch):
    run = start_app()
    monkeypatch.setitem(sys.modules, "desktop.views.forecast", None)  # import fails like a missing file
    run.window.select_panel("forecast")
    panel = run.window.panels["forecast"]
    texts = " ".join(label.text() for label in panel.findChildren(QLabel))
    assert "Forecast" in texts and ("not built yet" in texts or "could not be opened" in texts)
    assert run.window.nav.buttons["forecast"].isChecked()


def test_panel_plugin_is_created_and_gets_dropped_files(qtbot, start_app, monkeypatch, tmp_path):
    run = start_app()
    dropped: list[list[str]] = []

    class Panel(QWidget):
        def handle_drop(self, paths):
            dropped.append(paths)

    module = types.ModuleType("desktop.views.caption")
    module.create_panel = lambda service, parent: Panel(parent)
    monkeypatch.setitem(sys.modules, "desktop.views.caption", module)
    run.window.select_panel("caption")
    assert isinstance(run.window.panels["caption"], Panel)
    image = tmp_path / "cat.jpg"
    image.write_bytes(b"\xff\xd8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    run.window.dropEvent(event)
    assert dropped == [[str(image)]]


def test_settings_are_restored(qtbot, start_app, tmp_path):
    data = tmp_path / "prefs"
    first = start_app(data_dir=data)
    first.window.select_panel("train")
    first.chat.splitter.setSizes([300, 600, 300])
    sizes = first.chat.splitter.sizes()
    first.window.apply_settings(
        {
            "theme": "dark",
            "font_pt": 12.0,
            "force_cpu": False,
            "default_decoding": {**first.chat.decoding, "method": "sample"},
        }
    )
    first.window.close()
    first.service.shutdown()
    second = start_app(data_dir=data)
    assert second.window.current_key() == "train"
    assert second.window.settings.bytes_value("window/geometry") is not None
    assert second.window.settings.int_list("chat/splitter") == sizes
    assert second.window.settings.theme == "dark" and second.window.settings.font_pt == 12.0
    assert second.chat.decoding["method"] == "sample"


def test_window_modules_do_not_import_torch():
    code = (
        "import sys, os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
        "import desktop.app, desktop.main_window, desktop.views.chat, desktop.engine_service\n"
        "assert 'torch' not in sys.modules, 'torch imported before the window'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_damaged_settings_do_not_stop_the_app_and_what_is_shown_is_what_is_used(start_app, tmp_path):
    """A settings file edited by hand or written by another version: valid JSON of the wrong shape,
    wrong types, NaN, absurd sizes. The app starts with defaults for what is damaged, and decoding
    values beyond the panel's ranges are clamped to what the panel shows (bug hunt)."""
    from desktop.settings import AppSettings

    data = tmp_path / "odd"
    data.mkdir()
    for decoding in ("[1]", '{"top_k": "x"}', '{"temperature": NaN}', '{"max_len": 1000000000}'):
        raw = AppSettings(data / "settings.ini")
        raw._q.setValue("chat/default_decoding", decoding)
        raw._q.setValue("chat/splitter", "99999999999999999999,1,1")
        raw._q.setValue("appearance/font_pt", "nan")
        raw.sync()
        run = start_app(data_dir=data)
        decoding_used = run.chat.decoding
        assert decoding_used == run.chat.decoding_panel.options()
        assert 1 <= decoding_used["max_len"] <= 200 and decoding_used["temperature"] <= 2.0
        assert run.window.settings.font_pt == 10.0
        assert run.window.settings.int_list("chat/splitter") == []
        run.window.close()
        run.service.shutdown()


def test_a_broken_model_choice_keeps_the_working_model_and_a_broken_saved_choice_falls_back(qtbot, tmp_path):
    """Picking a damaged model unloaded the working one and saved the choice, so every later start
    had no chat model; a user model whose card is not UTF-8 left the chat "loading" for good (bug
    hunt)."""
    import fakes

    from desktop.app import build_parser, create
    from desktop.engine_service import SHIPPED_MODELS

    shipped = SHIPPED_MODELS / "dialogue"
    user = tmp_path / "data" / "models"
    (user / "broken").mkdir(parents=True)
    (user / "broken" / "MODEL_CARD.md").write_bytes(b"\xff\xfe\x00 not utf-8 \xc3")
    working = fakes.loader()

    def load(folder, device=None):
        if Path(folder).name == "broken":
            raise ValueError(f"{folder}/model.safetensors: damaged or truncated weights")
        return working(folder, device)

    def start():
        args = build_parser().parse_args(["--data-dir", str(tmp_path / "data"), "--theme", "light"])
        window, service = create(
            args,
            bot_loader=load,
            model_finder=lambda *roots: [shipped, user / "broken"],
            device_probe=fakes.probe,
        )
        qtbot.addWidget(window)
        service.start()
        qtbot.waitUntil(lambda: window.chat.model_state == "ready", timeout=WAIT_MS)
        return window, service

    window, service = start()
    assert window.chat.model_name == "dialogue"
    errors = recorder(service.error)
    window.chat._choose_model(str(user / "broken"))
    qtbot.waitUntil(lambda: bool(errors.calls), timeout=WAIT_MS)
    assert "damaged or truncated weights" in errors.calls[0][0] and "stays loaded" in errors.calls[0][0]
    qtbot.waitUntil(lambda: window.chat.model_state == "ready", timeout=WAIT_MS)
    assert window.chat.model_name == "dialogue" and service._bot is not None
    assert window.settings.chat_model != str(user / "broken")  # a failed choice is not remembered
    window.close()
    service.shutdown()

    window.settings.chat_model = str(user / "broken")  # saved before it broke
    window.settings.sync()
    window, service = start()
    assert window.chat.model_name == "dialogue"  # the shipped model, not "no model"
    window.close()
    service.shutdown()


def test_a_bad_screenshot_size_is_a_usage_error():
    """`--size abc` was a ValueError traceback from the screenshot code (found by trying it)."""
    import pytest

    from desktop.app import build_parser

    assert build_parser().parse_args(["--size", "1280X800"]).size == "1280x800"
    for bad in ("abc", "0x0", "1280", "99999x800"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--size", bad])


def test_a_second_window_on_the_same_data_folder_is_refused(qtbot, tmp_path, monkeypatch):
    """Two windows on one folder: the second resumed the first one's live training run and waited
    on the history's lock. Another folder, or a lock left by a process that is gone, opens."""
    from PySide6.QtCore import QLockFile

    from desktop import app

    told: list = []
    monkeypatch.setattr(app, "already_open", lambda folder, *_: told.append(folder))
    built: list = []
    monkeypatch.setattr(app, "create", lambda *a, **k: built.append(a) or 1 / 0)
    data = tmp_path / "data"
    data.mkdir()
    first = QLockFile(str(data / "parlance.lock"))
    assert first.tryLock(0)  # the window already open
    assert app.run(["--data-dir", str(data)]) == 1
    assert told == [data.resolve()] and built == []
    told.clear()
    first.unlock()
    crash = "\n".join(
        ["import os, sys", "from PySide6.QtCore import QLockFile", "f = QLockFile(sys.argv[1])"]
        + ["f.tryLock(0)", "os._exit(0)"]  # ends without unlocking, as a crash does
    )
    subprocess.run([sys.executable, "-c", crash, str(data / "parlance.lock")], check=True, timeout=60)
    assert (data / "parlance.lock").exists()
    lock = app._lock_data_dir(str(data))  # a crashed session's lock: its process is gone
    assert lock and lock.isLocked()
    lock.unlock()
    (data / "parlance.lock").write_bytes(b"")  # power lost while the lock was written: nobody holds it
    lock = app._lock_data_dir(str(data))
    assert lock and lock.isLocked() and told == []
    lock.unlock()
