"""The main window's settings, start options and closing (found in a bug hunt of the Settings
dialog and the window): each test fails on the code before its fix."""

from __future__ import annotations

import pytest
from desktop_testkit import WAIT_MS, recorder
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

LONG = " ".join(f"word{i}" for i in range(200))


def _values(run, **changes) -> dict:
    s = run.window.settings
    values = {
        "theme": run.window.theme_in_effect(),
        "font_pt": s.font_pt,
        "force_cpu": s.force_cpu,
        "default_decoding": s.default_decoding,
    }
    return {**values, **changes}


def test_esc_in_the_search_field_clears_the_search_and_the_reply_goes_on(qtbot, start_app):
    """Esc there stopped the reply being written and left the search as it was."""
    run = start_app(script=LONG, delay_s=0.03)
    tokens: list[str] = []
    run.service.reply_token.connect(lambda _bid, piece: tokens.append(piece))
    run.chat.composer.set_text("talk to me")
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(tokens) >= 2, timeout=WAIT_MS)
    search = run.chat.history.search
    run.window.activateWindow()
    search.setFocus()
    qtbot.waitUntil(search.hasFocus, timeout=WAIT_MS)
    qtbot.keyClicks(search, "hello")
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == "" and run.chat.generating
    qtbot.keyClick(run.chat.composer.edit, Qt.Key.Key_Escape)  # from the message box it stops
    qtbot.waitUntil(lambda: not run.chat.generating, timeout=WAIT_MS)


def test_ok_without_changes_does_not_restyle_and_a_new_font_does(start_app, monkeypatch):
    """Every OK re-applied the whole-app style sheet: seconds frozen with a long chat open."""
    run = start_app()
    calls: list[tuple] = []
    from desktop import theme

    real = theme.apply
    monkeypatch.setattr(theme, "apply", lambda *a, **k: (calls.append(a[1:]), real(*a, **k))[1])
    run.window.apply_settings(_values(run))
    assert calls == []
    run.window.apply_settings(_values(run, font_pt=12.0))
    assert calls == [("light", 12.0)]


def test_the_dialog_shows_the_session_theme_and_only_a_new_pick_replaces_it(qtbot, start_app):
    """With --theme the dialog showed the saved theme, and any OK switched the app's look to it."""
    run = start_app()  # the fixture starts with --theme light
    window = run.window
    assert window.session_theme == "light" and window.settings.theme == "system"
    window.open_settings()
    dialog = window._settings_dialog
    assert dialog.theme.currentData() == "light"
    window.apply_settings(_values(run, font_pt=11.0))  # only the size changed
    assert window.theme_in_effect() == "light" and window.settings.theme == "system"
    window.apply_settings(_values(run, theme="dark"))
    assert window.session_theme is None and window.settings.theme == "dark"
    window.open_settings()  # a second opening frees the first dialog
    assert window._settings_dialog is not dialog
    qtbot.waitUntil(lambda: len(window.findChildren(type(dialog))) == 1, timeout=WAIT_MS)


def test_a_new_default_decoding_applies_to_the_blank_new_chat(start_app):
    run = start_app()
    assert run.chat.cid is None
    wanted = {**run.chat.decoding, "method": "beam", "beam_size": 7}
    run.window.apply_settings(_values(run, default_decoding=wanted))
    assert run.chat.decoding["method"] == "beam" and run.chat.decoding["beam_size"] == 7
    assert run.chat.decoding_panel.options()["beam_size"] == 7


def test_the_cpu_switch_keeps_the_device_asked_for(qtbot, tmp_path):
    """Ticking and unticking "Always run on the CPU" threw away --device."""
    import fakes

    from desktop.app import build_parser, create

    asked: list[tuple] = []

    def probe(requested=None, force_cpu=False):
        asked.append((requested, force_cpu))
        return fakes.probe()

    args = build_parser().parse_args(["--data-dir", str(tmp_path / "d"), "--device", "cuda:1"])
    window, service = create(
        args, bot_loader=fakes.loader(), model_finder=fakes.finder("m"), device_probe=probe
    )
    qtbot.addWidget(window)
    service.start()
    try:
        qtbot.waitUntil(lambda: window.chat.model_state == "ready", timeout=WAIT_MS)
        for cpu in (True, False):
            values = {
                "theme": window.theme_in_effect(),
                "font_pt": window.settings.font_pt,
                "force_cpu": cpu,
                "default_decoding": None,
            }
            before = len(asked)
            window.apply_settings(values)
            qtbot.waitUntil(lambda before=before: len(asked) > before, timeout=WAIT_MS)
        assert asked == [("cuda:1", False), ("cuda:1", True), ("cuda:1", False)]
    finally:
        service.shutdown()
        window.close()


def test_a_device_that_is_not_here_is_said_and_the_cpu_is_used(qtbot, tmp_path):
    """A bad --device left "Device: detecting…" for good under "Could not look for chat models"."""
    import fakes

    from desktop.app import build_parser, create

    def probe(requested=None, force_cpu=False):
        if requested == "cuda" and not force_cpu:
            raise ValueError("device 'cuda' requested but CUDA is not available; use 'cpu'")
        return fakes.probe()

    args = build_parser().parse_args(["--data-dir", str(tmp_path / "d"), "--device", "cuda"])
    window, service = create(
        args, bot_loader=fakes.loader(), model_finder=fakes.finder("m"), device_probe=probe
    )
    errors = recorder(service.error)
    qtbot.addWidget(window)
    service.start()
    try:
        qtbot.waitUntil(lambda: window.chat.model_state == "ready", timeout=WAIT_MS)
        assert window.device_label == "CPU"
        assert any("'cuda' cannot be used" in c[0] and "CPU instead" in c[0] for c in errors.calls)
    finally:
        service.shutdown()
        window.close()


def test_a_missing_model_folder_is_said_before_the_shipped_model_is_used(qtbot, tmp_path):
    import fakes

    from desktop.app import build_parser, create

    missing = tmp_path / "no-such-model"
    args = build_parser().parse_args(["--data-dir", str(tmp_path / "d"), "--model", str(missing)])
    window, service = create(
        args, bot_loader=fakes.loader(), model_finder=fakes.finder("m"), device_probe=fakes.probe
    )
    errors = recorder(service.error)
    qtbot.addWidget(window)
    service.start()
    try:
        qtbot.waitUntil(lambda: window.chat.model_state == "ready", timeout=WAIT_MS)
        assert any(str(missing) in c[0] and "not found" in c[0] for c in errors.calls)
    finally:
        service.shutdown()
        window.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", ""],
        ["--data-dir", "  "],
        ["--device", "gpu"],
        ["--device", "cuda:abc"],
        ["--size", "200x200"],
    ],
)
def test_bad_start_options_are_usage_errors(argv):
    from desktop.app import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)


def test_good_start_options_pass(start_app):
    from desktop.app import build_parser

    args = build_parser().parse_args(["--device", "CUDA:0", "--size", "900x560"])
    assert args.device == "cuda:0" and args.size == "900x560"


def test_closing_while_work_runs_asks_first(qtbot, start_app):
    """The window closed at once and the job was cancelled without a word."""
    import threading

    run = start_app()
    release = threading.Event()
    job = run.service.submit("train", lambda cancel: release.wait(30) and None, {})
    qtbot.waitUntil(lambda: run.service.running_jobs() == ["train"], timeout=WAIT_MS)
    try:
        run.window.close()
        box = run.window._quit_box
        assert run.window.isVisible() and box is not None and "training run" in box.text()
        box.button(QMessageBox.StandardButton.NoButton)  # no default: Enter must not quit
        keep = [b for b in box.buttons() if b.text() == "Keep working"][0]
        keep.click()
        assert run.window.isVisible() and run.window._quit_box is None
        run.window.close()
        quit_button = [b for b in run.window._quit_box.buttons() if b.text() == "Quit and stop"][0]
        quit_button.click()
        qtbot.waitUntil(lambda: not run.window.isVisible(), timeout=WAIT_MS)
    finally:
        release.set()
        run.service.cancel(job)


def test_settings_that_cannot_be_written_are_said(qtbot, start_app, tmp_path):
    data = tmp_path / "ro"
    run = start_app(data_dir=data)
    (data / "settings.ini").unlink(missing_ok=True)
    (data / "settings.ini").mkdir()
    shown = recorder(run.window.notices.shown) if hasattr(run.window.notices, "shown") else None
    run.window.apply_settings(_values(run, font_pt=13.0))
    texts = [w.text() for w in run.window.notices.findChildren(type(run.window.status.history))]
    assert any("could not be saved" in t for t in texts), (texts, shown)


def test_the_history_width_is_kept_when_the_side_panel_was_hidden(qtbot, start_app, tmp_path):
    """A hidden side panel is saved as width 0, and that threw away every saved width."""
    from desktop.views.chat import splitter_sizes

    data = tmp_path / "split"
    first = start_app(data_dir=data)
    first.chat.splitter.setSizes([420, 800, 300])
    first.chat._toggle_side()
    assert not first.chat.side.isVisible()
    qtbot.waitUntil(lambda: first.chat.splitter.sizes()[2] == 0, timeout=WAIT_MS)
    first.window.close()
    first.service.shutdown()
    saved = first.window.settings.int_list("chat/splitter")
    assert saved[0] == 420 and saved[2] == 0
    assert splitter_sizes(saved) == [420, saved[1], 370]
    assert splitter_sizes([420, 0, 300]) == splitter_sizes([1, 2]) == [270, 730, 370]


def test_a_larger_text_size_applies_to_what_is_on_screen(qtbot, start_app, send_message):
    """Bug hunt: at 16 pt the nav labels read "Su…ze", the messages already shown kept the old size,
    the composer's placeholder was cut and the decoding fields were clipped."""
    run = start_app()
    send_message(run, "hello there friend")
    composer_before = run.chat.composer.edit.height()
    run.window.apply_settings(_values(run, font_pt=16.0))
    qtbot.wait(50)
    for button in run.window.nav.buttons.values():
        assert button.width() >= button.fontMetrics().horizontalAdvance(button.text())
    for mid in run.chat.messages.order:
        html = run.chat.messages.rows[mid].text.text()
        assert "font-size" not in html.split("<body", 1)[-1].split(">", 1)[0]
        assert run.chat.messages.rows[mid].text.font().pointSizeF() == 16.0
    assert run.chat.composer.edit.height() > composer_before
    qtbot.waitUntil(
        lambda: run.chat.side.minimumWidth() >= run.chat.side.minimumSizeHint().width(), timeout=WAIT_MS
    )


def test_closing_also_asks_about_a_job_waiting_behind_another(qtbot, start_app):
    """Review: only started jobs were asked about; a training run queued behind another was
    dropped without a word."""
    import threading

    from desktop.main_window import _busy_words

    run = start_app()
    release = threading.Event()
    first = run.service.submit("summarize", lambda cancel: release.wait(30) and None, {})
    qtbot.waitUntil(lambda: run.service.running_jobs() == ["summarize"], timeout=WAIT_MS)
    queued = run.service.submit("train", lambda: None, {})
    try:
        assert sorted(run.service.unfinished_jobs()) == ["summarize", "train"]
        assert _busy_words(["summarize", "train"]) == "A summary and a training run are still running."
    finally:
        run.service.cancel(queued)
        release.set()
        run.service.cancel(first)
    qtbot.waitUntil(lambda: run.service.unfinished_jobs() == [], timeout=WAIT_MS)


def test_a_larger_text_size_makes_the_window_larger_within_the_screen(qtbot, start_app, monkeypatch):
    """At 18 pt the panels' panes ran off a 900 x 560 window; the minimum never grew."""
    from desktop.app import MIN_SIZE

    run = start_app()
    w = run.window
    w.resize(*MIN_SIZE)
    monkeypatch.setattr(w, "screen", lambda: None)  # a screen large enough (offscreen's is 800 x 800)
    w.settings.font_pt = 18
    w.restyle()
    assert (w.minimumWidth(), w.minimumHeight()) == (MIN_SIZE[0] + 320, MIN_SIZE[1] + 120)
    assert w.width() >= MIN_SIZE[0] + 320  # the window grew to it
    monkeypatch.undo()
    w.settings.font_pt = 10
    w.restyle()
    room = w.screen().availableGeometry()  # offscreen: 800 x 800, narrower than MIN_SIZE
    fits = (min(MIN_SIZE[0], room.width()), min(MIN_SIZE[1], room.height()))
    assert (w.minimumWidth(), w.minimumHeight()) == fits


def test_moving_to_another_screen_fits_the_minimum_to_it(qtbot, start_app, monkeypatch):
    """The minimum was fitted once, to the screen the window opened on: moved to a smaller
    screen, the window could not be made to fit it."""
    from PySide6.QtCore import QEvent, QRect
    from PySide6.QtWidgets import QApplication

    from desktop.app import MIN_SIZE

    run = start_app()
    w = run.window
    monkeypatch.setattr(w, "screen", lambda: None)  # a large screen
    w.fit_minimum()
    assert (w.minimumWidth(), w.minimumHeight()) == MIN_SIZE

    class Small:
        def availableGeometry(self):
            return QRect(0, 0, 700, 480)

    monkeypatch.setattr(w, "screen", lambda: Small())
    QApplication.sendEvent(w, QEvent(QEvent.Type.ScreenChangeInternal))
    assert (w.minimumWidth(), w.minimumHeight()) == (700, 480)


def test_the_status_bar_names_the_chat_model_as_the_chat_model(qtbot, start_app):
    """It read "Model: dialogue, Summarizer, Captioner": a folder name beside task names."""
    run = start_app()
    qtbot.waitUntil(lambda: "tiny-bot" in run.window.status.models.text(), timeout=WAIT_MS)
    assert run.window.status.models.text() == "Model: Chat (tiny-bot)"
    run.window.status.set_models(["Chat (tiny-bot)", "Summarizer"])
    assert run.window.status.models.text() == "Models: Chat (tiny-bot), Summarizer"
