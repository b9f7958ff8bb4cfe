"""Caption panel fixes from the panel and history bug hunts: a search hit never cancels a running
batch silently, the grid follows a theme or text size change, the header's buttons and inputs keep
names a screen reader says, Tab goes through the header in the order shown, and a file is captioned
as an image or a video by what it holds, not by its name."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest
from caption_fixtures import write_clip, write_photo
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAccessible, QColor, QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

from desktop import caption_ops as ops
from desktop import theme
from desktop.widgets.caption_grid import ICON, CaptionGrid
from engine.caption.video import media_kind


@pytest.fixture
def panel(panel_of):
    return panel_of("caption")


@pytest.fixture
def restore_look():
    yield
    theme.apply(QApplication.instance(), "light", 10)


def _hold(release: threading.Event, cancel=None) -> dict:
    """A job that runs until released (or cancelled): stands in for a long batch."""
    while not release.is_set() and not (cancel is not None and cancel.cancelled):
        time.sleep(0.01)
    return {"cancelled": bool(cancel is not None and cancel.cancelled), "files": 0}


def spoken_name(widget) -> str:
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def test_a_search_hit_does_not_cancel_a_running_batch(qtbot, panel):
    release = threading.Event()
    job = panel._start(_hold, {"release": release}, "Captioning…")
    try:
        panel.run.window._open_history_item("caption", 1)
        assert panel.busy and panel.job_id == job and job not in panel.cancelling
        assert panel.message.isVisible() and "Captioning is still running" in panel.message_label.text()
        qtbot.wait(100)
        assert panel.service.unfinished_jobs() == ["caption"]  # it runs on
    finally:
        release.set()
    qtbot.waitUntil(lambda: not panel.busy)
    assert panel.last_result == {"cancelled": False, "files": 0}  # it ended on its own


def _cells(grid: CaptionGrid) -> None:
    thumb = np.zeros((40, 40, 3), np.uint8)  # square: the tile shows on its left and right
    grid.add_waiting("a", "waiting.png")
    grid.set_result("b", {"name": "ok.png", "media": "image", "caption": "a red bus", "thumb": thumb})
    bad = {"name": "bad.png", "media": "image", "error": "bad.png: broken", "reason": "broken"}
    grid.set_result("c", bad)


def _background(grid: CaptionGrid, key: str) -> QColor:
    """The colour of the thumbnail tile's inside (the theme's surface colour at add time)."""
    image = grid.cells[key].icon().pixmap(ICON).toImage()
    return image.pixelColor(4, image.height() // 2)


def test_the_grid_takes_the_new_theme_colours(qtbot, restore_look):
    app = QApplication.instance()
    theme.apply(app, "light", 10)
    grid = CaptionGrid()
    qtbot.addWidget(grid)
    grid.show()
    _cells(grid)
    light = theme.current_colors()
    assert grid.cells["b"].foreground().color() == QColor(light["text"])
    theme.apply(app, "dark", 10)  # what Settings does; nothing calls the grid
    dark = theme.current_colors()
    qtbot.waitUntil(lambda: grid.cells["b"].foreground().color() == QColor(dark["text"]), timeout=2000)
    assert grid.cells["a"].foreground().color() == QColor(dark["muted"])
    assert grid.cells["c"].foreground().color() == QColor(dark["danger"])
    assert _background(grid, "b") == QColor(dark["surface"]) != QColor(light["surface"])
    assert _background(grid, "a") == QColor(dark["surface"])
    assert grid.cells["b"].text() == "a red bus" and grid.state["c"] == "error"  # content unchanged


def test_grid_cells_hold_three_caption_lines_at_a_large_text_size(qtbot, restore_look):
    app = QApplication.instance()
    grid = CaptionGrid()
    qtbot.addWidget(grid)
    grid.show()
    _cells(grid)
    base = grid.gridSize()
    theme.apply(app, "light", 18)
    qtbot.waitUntil(lambda: grid.font().pointSizeF() == 18)

    def roomy() -> bool:
        hint = grid.cells["b"].sizeHint()
        text_room = hint.height() - ICON.height() - 12  # the view's margins around icon and text
        return text_room >= 3 * QFontMetrics(grid.font()).lineSpacing() and hint.width() > base.width()

    qtbot.waitUntil(roomy, timeout=2000)
    assert grid.gridSize() == grid.cells["a"].sizeHint() + QSize(8, 8)
    theme.apply(app, "light", 10)
    qtbot.waitUntil(lambda: grid.gridSize() == base, timeout=2000)


def test_header_buttons_and_beam_keep_their_names_in_a_narrow_window(qtbot):
    from desktop.widgets.caption_header import CaptionHeader

    header = CaptionHeader()
    qtbot.addWidget(header)
    header.show()
    header.resize(800, 52)
    qtbot.waitUntil(lambda: header.folder_button.text() == "")
    names = [spoken_name(b) for b in (header.open_button, header.folder_button, header.export_button)]
    assert names == ["Open", "Open folder", "Export"]
    assert spoken_name(header.beam) == "Beam size"
    header.resize(1400, 52)
    qtbot.waitUntil(lambda: header.folder_button.text() == "Open folder…")
    assert spoken_name(header.folder_button) == "Open folder"


def test_tab_goes_through_the_header_in_the_order_shown(panel):
    h, p = panel.header, panel.model_picker
    shown = [p.combo, p.info_button, p.rescan_button, h.open_button, h.folder_button]
    shown += [h.export_button, h.clear_button, h.beam, h.run_button]
    order: list[QWidget] = []
    start = w = panel.window()
    for _ in range(2000):  # the whole chain, once round
        if w in shown:
            order.append(w)
        w = w.nextInFocusChain()
        if w is start:
            break
    assert order == shown
    assert panel.detail_scroll.focusPolicy() == Qt.FocusPolicy.NoFocus  # no empty stop on the pane


def test_a_file_is_captioned_as_what_it_holds_not_what_its_name_says(tmp_path):
    clip = tmp_path / "clip.mp4"
    write_clip(clip, seconds=0.5)
    photo = write_photo(tmp_path / "photo.jpg")
    shutil.copy(clip, tmp_path / "video_named.jpg")
    shutil.copy(photo, tmp_path / "image_named.mp4")
    (tmp_path / "notes.jpg").write_text("not a picture\n")
    kinds = {p.name: media_kind(p) for p in sorted(tmp_path.iterdir())}
    assert kinds == {
        "clip.mp4": "video",
        "image_named.mp4": "image",
        "notes.jpg": "image",  # neither: its name decides (and loading it says what is wrong)
        "photo.jpg": "image",
        "video_named.jpg": "video",
    }
    reports: list[dict] = []

    class StopAfterListing:  # stops the job once it said what each file is
        @property
        def cancelled(self) -> bool:
            return bool(reports)

    report = lambda info: reports.append(info) if info.get("stage") == "files" else None  # noqa: E731
    files = [str(tmp_path / "video_named.jpg"), str(tmp_path / "image_named.mp4")]
    ops.caption_paths(files, progress=report, cancel=StopAfterListing())
    assert [f["media"] for f in reports[0]["files"]] == ["video", "image"]


def test_at_a_large_text_size_the_header_goes_compact_sooner_and_panes_grow(qtbot, panel, restore_look):
    h = panel.header
    left = panel.stack.parentWidget()
    base = {w: w.minimumWidth() for w in (left, panel.detail, h.beam, panel.model_picker.combo)}
    h.resize(1400, 52)
    qtbot.waitUntil(lambda: h.folder_button.text() == "Open folder…")
    theme.apply(QApplication.instance(), "light", 18)
    qtbot.waitUntil(lambda: h.font().pointSizeF() == 18)
    qtbot.waitUntil(lambda: h.folder_button.text() == "", timeout=2000)  # 1400 px: too narrow at 18 pt
    for w, px in base.items():
        assert w.minimumWidth() >= 1.7 * px, w
