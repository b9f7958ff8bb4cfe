"""The Caption panel's grid: one cell per file, its thumbnail and its caption (or why it could not
be used). Cells are keyed by a string the panel chooses; they are added waiting and filled in as
the engine thread reports each batch. Thumbnails arrive as small arrays made on that thread.

Cells are drawn in the theme's colours and sized for three lines of caption at the text size: a
theme or text size change (a style, palette or font change event) redraws and resizes them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from desktop import theme
from desktop.widgets.attention_image import to_qimage
from desktop.widgets.panel_parts import text_scale

ICON = QSize(156, 110)  # thumbnail box
GRID = QSize(176, 200)  # cell at the usual text size: the box and three lines of caption
CAPTION_LINES = 3  # lines of caption a cell has room for
RESTYLE_EVENTS = (QEvent.Type.StyleChange, QEvent.Type.PaletteChange, QEvent.Type.FontChange)
KEY_ROLE = Qt.ItemDataRole.UserRole


def _box(draw) -> QIcon:
    """An ICON-sized rounded tile with ``draw(painter, rect)`` on it."""
    c = theme.current_colors()
    pm = QPixmap(ICON)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    rect = QRectF(0.5, 0.5, ICON.width() - 1, ICON.height() - 1)
    p.setPen(QColor(c["border"]))
    p.setBrush(QColor(c["surface"]))
    p.drawRoundedRect(rect, 8, 8)
    draw(p, rect, c)
    p.end()
    icon = QIcon(pm)
    icon.addPixmap(pm, QIcon.Mode.Selected)  # not tinted when selected: the cell is highlighted instead
    return icon


def thumb_icon(thumb: np.ndarray) -> QIcon:
    image = to_qimage(thumb)

    def draw(p, rect, _c):
        scale = min((rect.width() - 4) / image.width(), (rect.height() - 4) / image.height())
        w, h = image.width() * scale, image.height() * scale
        target = QRectF(rect.center().x() - w / 2, rect.center().y() - h / 2, w, h)
        p.drawImage(target, image)

    return _box(draw)


def symbol_icon(name: str, color_key: str, tint: str | None = None) -> QIcon:
    def draw(p, rect, c):
        if tint:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(c[tint]))
            p.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 7, 7)
        size = 34
        pm = theme.icon(name, c[color_key], size).pixmap(size, size)
        p.drawPixmap(int(rect.center().x() - size / 2), int(rect.center().y() - size / 2), pm)

    return _box(draw)


class CaptionGrid(QListWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("CaptionGrid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(ICON)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(False)
        self.setAcceptDrops(False)  # drops go to the panel
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.cells: dict[str, QListWidgetItem] = {}
        self.state: dict[str, str] = {}  # key -> "waiting" | "done" | "error"
        self.results: dict[str, dict] = {}  # key -> the caption item shown (to draw it again)
        self._look: tuple | None = None  # (colours, cell size) the cells were drawn with
        self._restyle_timer = QTimer(self)  # the theme sets its colours after the style events
        self._restyle_timer.setSingleShot(True)
        self._restyle_timer.timeout.connect(self.restyle)
        self.setGridSize(self.cell_size())

    def cell_size(self) -> QSize:
        """The grid cell for the current text size: the thumbnail box and three lines of caption."""
        fm = self.fontMetrics()
        scale = text_scale(self)
        # the view's margins around the icon and the text (4 px each side, 8 between): measured
        height = ICON.height() + CAPTION_LINES * fm.lineSpacing() + 8 + 24
        return QSize(max(GRID.width(), round(GRID.width() * scale)), max(GRID.height(), height))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in RESTYLE_EVENTS:
            self._restyle_timer.start(0)

    def restyle(self) -> None:
        """Draw every cell again in the theme's colours and size the cells for the text size (after a
        theme or text size change; cheap when nothing changed)."""
        look = (tuple(sorted(theme.current_colors().items())), self.cell_size())
        if look == self._look:
            return
        self._look = look
        self.setGridSize(look[1])
        for key, item in self.cells.items():
            item.setSizeHint(look[1] - QSize(8, 8))
            if key in self.results:
                self.set_result(key, self.results[key])
            else:
                self._paint_waiting(item)

    def _paint_waiting(self, item: QListWidgetItem) -> None:
        item.setIcon(symbol_icon("caption", "disabled"))
        item.setForeground(QBrush(QColor(theme.current_colors()["muted"])))

    def add_waiting(self, key: str, name: str) -> None:
        item = QListWidgetItem("")
        item.setData(KEY_ROLE, key)
        item.setText(f"{name}\nWaiting…")
        item.setToolTip(name)
        self._paint_waiting(item)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        item.setSizeHint(self.gridSize() - QSize(8, 8))  # room for three lines, whatever the first cell says
        self.addItem(item)
        self.cells[key] = item
        self.state[key] = "waiting"

    def set_result(self, key: str, result: dict) -> None:
        """Fill the cell ``key`` (added at the end when it is not there) from a caption item."""
        item = self.cells.get(key)
        if item is None:
            self.add_waiting(key, result["name"])
            item = self.cells[key]
        self.results[key] = result
        c = theme.current_colors()
        if result.get("error"):
            reason = result.get("reason") or result["error"]
            item.setIcon(symbol_icon("alert", "danger", "warn_soft"))
            item.setText(f"{result['name']}\n{reason}")
            item.setToolTip(result["error"])
            item.setForeground(QBrush(QColor(c["danger"])))
            self.state[key] = "error"
            return
        thumb = result.get("thumb")
        item.setIcon(thumb_icon(thumb) if thumb is not None else symbol_icon("caption", "muted"))
        prefix = "▶ " if result["media"] == "video" else ""
        item.setText(prefix + result["caption"])
        item.setToolTip(f"{result['name']}\n{result['caption']}")
        item.setForeground(QBrush(QColor(c["text"])))
        self.state[key] = "done"

    def set_waiting_text(self, key: str, text: str) -> None:
        item = self.cells.get(key)
        if item is not None and self.state.get(key) == "waiting":
            item.setText(f"{item.toolTip()}\n{text}")

    def remove(self, keys) -> None:
        for key in list(keys):
            item = self.cells.pop(key, None)
            self.state.pop(key, None)
            self.results.pop(key, None)
            if item is not None:
                self.takeItem(self.row(item))

    def waiting(self, prefix: str = "") -> list[str]:
        return [k for k, s in self.state.items() if s == "waiting" and k.startswith(prefix)]

    def ordered_keys(self) -> list[str]:
        """Cell keys in the order shown."""
        return [self.item(r).data(KEY_ROLE) for r in range(self.count())]

    def current_key(self) -> str | None:
        item = self.currentItem()
        return None if item is None else item.data(KEY_ROLE)

    def select(self, key: str) -> None:
        item = self.cells.get(key)
        if item is not None:
            self.setCurrentItem(item)
            self.scrollToItem(item)

    def clear_cells(self) -> None:
        self.clear()
        self.cells.clear()
        self.state.clear()
        self.results.clear()
