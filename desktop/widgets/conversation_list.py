"""The list of conversations, grouped by date (Today, Yesterday, Previous 7 days, Earlier).

Double-click or F2 renames in place; Delete deletes (the window offers Undo); the context menu
also exports. Each row shows the title and a muted line with the message count and time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from desktop import theme
from desktop.widgets.bubble import local_time

CID_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_ROLE = Qt.ItemDataRole.UserRole + 2
SUB_ROLE = Qt.ItemDataRole.UserRole + 3


def date_group(stamp: str | None, today=None) -> str:
    try:
        when = datetime.fromisoformat((stamp or "").replace("Z", "+00:00")).astimezone().date()
    except ValueError:
        return "Earlier"
    today = today or datetime.now().astimezone().date()
    if when >= today:
        return "Today"
    if when == today - timedelta(days=1):
        return "Yesterday"
    if when > today - timedelta(days=7):
        return "Previous 7 days"
    return "Earlier"


class _Delegate(QStyledItemDelegate):
    def paint(self, painter, option, index) -> None:
        c = theme.current_colors()
        if index.data(KIND_ROLE) == "header":
            painter.save()
            font = QFont(option.font)
            font.setBold(True)
            font.setPointSizeF(max(font.pointSizeF() - 1.5, 7))
            painter.setFont(font)
            painter.setPen(QColor(c["muted"]))
            painter.drawText(
                option.rect.adjusted(20, 8, -8, 0),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                index.data(Qt.ItemDataRole.DisplayRole).upper(),
            )
            painter.restore()
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        r = option.rect.adjusted(20, 7, -16, -7)
        title_font = QFont(option.font)
        title_font.setWeight(
            QFont.Weight.DemiBold if option.state & QStyle.StateFlag.State_Selected else QFont.Weight.Normal
        )
        painter.setFont(title_font)
        painter.setPen(QColor(c["text"]))
        fm = painter.fontMetrics()
        title = index.data(Qt.ItemDataRole.DisplayRole) or "Untitled conversation"
        top = QRect(r.left(), r.top(), r.width(), fm.height())
        painter.drawText(
            top, int(Qt.AlignmentFlag.AlignLeft), fm.elidedText(title, Qt.TextElideMode.ElideRight, r.width())
        )
        sub_font = QFont(option.font)
        sub_font.setPointSizeF(max(sub_font.pointSizeF() - 1.5, 7))
        painter.setFont(sub_font)
        painter.setPen(QColor(c["muted"]))
        painter.drawText(
            QRect(r.left(), top.bottom() + 3, r.width(), painter.fontMetrics().height()),
            int(Qt.AlignmentFlag.AlignLeft),
            painter.fontMetrics().elidedText(
                index.data(SUB_ROLE) or "", Qt.TextElideMode.ElideRight, r.width()
            ),
        )
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        base = super().sizeHint(option, index)
        if index.data(KIND_ROLE) == "header":
            return QSize(base.width(), option.fontMetrics.height() + 16)
        return QSize(base.width(), option.fontMetrics.height() * 2 + 20)


class ConversationList(QListWidget):
    conversation_chosen = Signal(int)
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    export_requested = Signal(int, str)  # id, "md" | "json"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ConvList")
        self.setItemDelegate(_Delegate(self))
        self.setUniformItemSizes(False)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.itemChanged.connect(self._on_changed)
        self.currentItemChanged.connect(self._on_current)
        self.itemActivated.connect(self._on_activated)
        self._titles: dict[int, str] = {}
        self._quiet = False
        self._pending: tuple[list[dict], int | None] | None = None  # a refresh held while renaming
        self.itemDelegate().closeEditor.connect(self._after_edit)
        delete = QAction("Delete conversation", self)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(lambda: self.current_id() and self.delete_requested.emit(self.current_id()))
        self.addAction(delete)

    def set_conversations(self, conversations: list[dict], current: int | None) -> None:
        if self.state() == QAbstractItemView.State.EditingState:
            # a refresh (any reply starting or ending) would destroy the open rename box and what
            # was typed in it: it waits until the rename is done
            self._pending = (conversations, current)
            return
        self._pending = None
        self._quiet = True
        try:
            self.clear()
            self._titles = {}
            group = None
            for conv in conversations:
                g = date_group(conv.get("updated_at"))
                if g != group:
                    header = QListWidgetItem(g)
                    header.setData(KIND_ROLE, "header")
                    header.setFlags(Qt.ItemFlag.NoItemFlags)
                    self.addItem(header)
                    group = g
                item = QListWidgetItem(conv.get("title") or "Untitled conversation")
                item.setData(CID_ROLE, int(conv["id"]))
                item.setData(KIND_ROLE, "conversation")
                n = int(conv.get("message_count") or 0)
                short, full = local_time(conv.get("updated_at"))
                item.setData(SUB_ROLE, f"{n} message{'s' if n != 1 else ''} · {short}")
                item.setToolTip(f"{conv.get('title') or 'Untitled'}\nLast change: {full}")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.addItem(item)
                self._titles[int(conv["id"])] = conv.get("title") or ""
                if conv["id"] == current:
                    self.setCurrentItem(item)
        finally:
            self._quiet = False

    def ids(self) -> list[int]:
        return list(self._titles)

    def item_for(self, cid: int) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(CID_ROLE) == cid:
                return self.item(i)
        return None

    def current_id(self) -> int | None:
        item = self.currentItem()
        return item.data(CID_ROLE) if item is not None else None

    def select(self, cid: int | None) -> None:
        self._quiet = True
        try:
            item = self.item_for(cid) if cid is not None else None
            if item is None:
                self.clearSelection()
                self.setCurrentItem(None)
            else:
                self.setCurrentItem(item)
        finally:
            self._quiet = False

    def start_rename(self, cid: int) -> None:
        item = self.item_for(cid)
        if item is not None:
            self.editItem(item)

    def focusInEvent(self, event) -> None:
        """Focus alone opens nothing: Qt makes the first row current when the list gets focus, which
        opened that conversation (and a new chat's draft was then sent into it)."""
        self._quiet = True
        try:
            super().focusInEvent(event)
        finally:
            self._quiet = False

    def moveCursor(self, action, modifiers):  # noqa: N802 (Qt override)
        """Home and Page Up skip the day headers ("Today"), which cannot be chosen."""
        index = super().moveCursor(action, modifiers)
        Move = QAbstractItemView.CursorAction
        if action in (Move.MoveHome, Move.MovePageUp) and index.isValid():
            for row in range(index.row(), self.count()):
                if self.item(row).flags() & Qt.ItemFlag.ItemIsSelectable:
                    return self.model().index(row, 0)
        return index

    def _on_activated(self, item) -> None:
        if item is not None and item.data(CID_ROLE) is not None:  # Enter on the current row opens it
            self.conversation_chosen.emit(int(item.data(CID_ROLE)))

    def _on_current(self, item, _previous) -> None:
        if not self._quiet:
            self._on_activated(item)

    def _after_edit(self, *_args) -> None:
        if self._pending is not None:
            pending = self._pending
            QTimer.singleShot(0, lambda: self._pending is pending and self.set_conversations(*pending))

    def _on_changed(self, item: QListWidgetItem) -> None:
        cid = item.data(CID_ROLE)
        if self._quiet or cid is None:
            return
        title = " ".join(item.text().split())
        if not title:  # a blank name is not taken: the row shows the title it has
            self._quiet = True
            try:
                item.setText(self._titles.get(cid) or "Untitled conversation")
            finally:
                self._quiet = False
            return
        if title and title != self._titles.get(cid):
            self._titles[cid] = title
            self.rename_requested.emit(cid, title)

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is None or item.data(CID_ROLE) is None:
            return
        cid = int(item.data(CID_ROLE))
        menu = QMenu(self)
        rename = menu.addAction("Rename", lambda: self.editItem(item))
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))  # shown in the menu; the list handles the key
        menu.addAction("Export as Markdown…", lambda: self.export_requested.emit(cid, "md"))
        menu.addAction("Export as JSON…", lambda: self.export_requested.emit(cid, "json"))
        menu.addSeparator()
        delete = menu.addAction("Delete", lambda: self.delete_requested.emit(cid))
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        menu.popup(self.viewport().mapToGlobal(pos))
