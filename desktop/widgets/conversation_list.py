"""The list of conversations, grouped by date (Today, Yesterday, Previous 7 days, Earlier).

Double-click or F2 renames in place; Delete deletes (the window offers Undo); the context menu
also exports. Each row shows the title and a muted line with the message count and time.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
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
        self._titles: dict[int, str] = {}  # by id, in the order shown
        # Each send, reply, rename, delete and undo rebuilt every row from the whole history (~1 s
        # with 20,000 conversations, 40,000 strftime calls): now one row is moved or updated.
        self._order: list[int] = []  # the ids shown, newest first
        self._items: dict[int, QListWidgetItem] = {}
        self._rows: dict[int, dict] = {}  # the conversation each row shows
        self._groups: dict[int, str] = {}  # its date group
        self._stamps: dict[str | None, tuple[str, str, str]] = {}  # updated_at -> (group, short, full)
        self._today: date | None = None  # the day the groups and times were worked out
        self._quiet = False
        self._pending: list[tuple] | None = None  # refreshes held while renaming, in order
        self.itemDelegate().closeEditor.connect(self._after_edit)
        delete = QAction("Delete conversation", self)
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(lambda: self.current_id() and self.delete_requested.emit(self.current_id()))
        self.addAction(delete)

    def set_conversations(self, conversations: list[dict], current: int | None) -> None:
        """Show ``conversations`` (newest updated first), every row anew; rows whose id and date group
        are unchanged are updated in place."""
        if self._hold(("full", conversations, current)):
            return
        self._quiet = True
        try:
            self._check_day()
            ids = [int(c["id"]) for c in conversations]
            groups = [self._stamp(c.get("updated_at"))[0] for c in conversations]
            if ids == self._order and groups == [self._groups[i] for i in ids]:
                for conv in conversations:  # same rows: only what they say may have changed
                    if conv != self._rows[int(conv["id"])]:
                        self._fill(self._items[int(conv["id"])], conv)
            else:
                self._rebuild(conversations)
            self._select_quietly(current)
        finally:
            self._quiet = False

    def update_conversation(self, conv: dict, current: int | None) -> None:
        """Add or update one conversation's row, moved to where its updated_at puts it."""
        if self._hold(("update", conv, current)):
            return
        self._quiet = True
        try:
            if self._check_day():
                self._rebuild([self._rows[i] for i in self._order])
            cid = int(conv["id"])
            if cid in self._items:
                self._take(cid)
            self._insert(conv)
            self._select_quietly(current)
        finally:
            self._quiet = False

    def remove_conversation(self, cid: int, current: int | None) -> None:
        if self._hold(("remove", cid, current)):
            return
        self._quiet = True
        try:
            if cid in self._items:
                self._take(cid)
            self._select_quietly(current)
        finally:
            self._quiet = False

    def _hold(self, op: tuple) -> bool:
        """Whether a refresh waits: one now (any reply starting or ending) would destroy the open
        rename box and what was typed in it; it is applied when the rename is done."""
        if self.state() == QAbstractItemView.State.EditingState:
            self._pending = [op] if op[0] == "full" else [*(self._pending or []), op]
            return True
        pending, self._pending = self._pending, None
        if pending and op[0] != "full":  # held ones first, then this one
            self._apply(pending)
        return False

    def _check_day(self) -> bool:
        """Whether the day changed since the groups and times were worked out (all are redone)."""
        today = datetime.now().astimezone().date()
        if today == self._today:
            return False
        self._today, self._stamps = today, {}
        return True

    def _stamp(self, stamp: str | None) -> tuple[str, str, str]:
        """(date group, short time, full time) of an updated_at, worked out once per stamp and day."""
        hit = self._stamps.get(stamp)
        if hit is None:
            if len(self._stamps) > 100_000:
                self._stamps.clear()
            hit = self._stamps[stamp] = (date_group(stamp, self._today), *local_time(stamp))
        return hit

    def _header(self, group: str) -> QListWidgetItem:
        header = QListWidgetItem(group)
        header.setData(KIND_ROLE, "header")
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        header.setSizeHint(self._sizes()[0])
        return header

    def _sizes(self) -> tuple[QSize, QSize]:
        """The heights of a header and of a conversation row, kept on each item: the delegate's
        Python sizeHint was asked for every row at each layout (0.3 s with 20,000 rows, after
        each row moved)."""
        h = self.fontMetrics().height()
        return QSize(1, h + 16), QSize(1, h * 2 + 20)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and self.count():
            header, row = self._sizes()
            if self.item(0).sizeHint() != header:
                for i in range(self.count()):
                    item = self.item(i)
                    item.setSizeHint(header if item.data(KIND_ROLE) == "header" else row)

    def _fill(self, item: QListWidgetItem, conv: dict) -> None:
        cid = int(conv["id"])
        _, short, full = self._stamp(conv.get("updated_at"))
        n = int(conv.get("message_count") or 0)
        item.setText(conv.get("title") or "Untitled conversation")
        item.setData(SUB_ROLE, f"{n} message{'s' if n != 1 else ''} · {short}")
        item.setToolTip(f"{conv.get('title') or 'Untitled'}\nLast change: {full}")
        self._rows[cid] = conv
        self._titles[cid] = conv.get("title") or ""

    def _new_item(self, conv: dict) -> QListWidgetItem:
        cid = int(conv["id"])
        item = QListWidgetItem()
        item.setData(CID_ROLE, cid)
        item.setData(KIND_ROLE, "conversation")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        item.setSizeHint(self._sizes()[1])
        self._items[cid] = item
        self._groups[cid] = self._stamp(conv.get("updated_at"))[0]
        self._fill(item, conv)
        return item

    def _rebuild(self, convs: list[dict]) -> None:
        self.setUpdatesEnabled(False)
        try:
            self.clear()
            self._titles, self._order, self._items, self._rows, self._groups = {}, [], {}, {}, {}
            group = None
            for conv in convs:
                item = self._new_item(conv)
                g = self._groups[int(conv["id"])]
                if g != group:
                    self.addItem(self._header(g))
                    group = g
                self.addItem(item)
                self._order.append(int(conv["id"]))
        finally:
            self.setUpdatesEnabled(True)

    @staticmethod
    def _key(conv: dict) -> tuple[str, int]:
        return conv.get("updated_at") or "", int(conv["id"])  # the store's order, newest first

    def _take(self, cid: int) -> None:
        """Remove one conversation's row, and its group's header when it was the last in it."""
        item = self._items.pop(cid)
        row = self.row(item)
        self._order.remove(cid)
        del self._rows[cid], self._groups[cid], self._titles[cid]
        self.takeItem(row)
        above = self.item(row - 1)
        below = self.item(row)
        empty = below is None or below.data(KIND_ROLE) == "header"
        if above is not None and above.data(KIND_ROLE) == "header" and empty:
            self.takeItem(row - 1)  # an empty group
            row -= 1
            above, below = self.item(row - 1), self.item(row)
        if (  # two runs of one group now meet (only with out-of-order stamps): one header
            above is not None
            and below is not None
            and below.data(KIND_ROLE) == "header"
            and above.data(CID_ROLE) is not None
            and self._groups[above.data(CID_ROLE)] == below.text()
        ):
            self.takeItem(row)

    def _insert(self, conv: dict) -> None:
        """Insert one conversation's row where the store's order puts it, with a header if needed."""
        key = self._key(conv)
        rows = self._rows
        at = bisect.bisect_left(self._order, True, key=lambda c: self._key(rows[c]) < key)
        item = self._new_item(conv)
        cid = int(conv["id"])
        g = self._groups[cid]
        prev = self._order[at - 1] if at > 0 else None
        nxt = self._order[at] if at < len(self._order) else None
        self._order.insert(at, cid)
        if prev is not None and self._groups[prev] == g:
            self.insertItem(self.row(self._items[prev]) + 1, item)
        elif nxt is not None and self._groups[nxt] == g:
            self.insertItem(self.row(self._items[nxt]), item)  # after nxt's header
        elif nxt is None:
            self.addItem(self._header(g))
            self.addItem(item)
        else:
            row = self.row(self._items[nxt])
            if prev is not None and self._groups[prev] == self._groups[nxt]:  # splits a run
                self.insertItem(row, self._header(self._groups[nxt]))
            else:
                row -= 1  # before nxt's header
            self.insertItem(row, item)
            self.insertItem(row, self._header(g))

    def _select_quietly(self, current: int | None) -> None:
        item = self._items.get(current) if current is not None else None
        if item is None:
            if self.currentItem() is not None or self.selectedItems():
                self.clearSelection()
                self.setCurrentItem(None)
        elif self.currentItem() is not item:
            self.setCurrentItem(item)

    def ids(self) -> list[int]:
        return list(self._order)

    def item_for(self, cid: int) -> QListWidgetItem | None:
        return self._items.get(cid)

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
            QTimer.singleShot(0, lambda: self._pending is pending and self._apply(pending))

    def _apply(self, ops: list[tuple]) -> None:
        self._pending = None
        for op in ops:
            {"full": self.set_conversations, "update": self.update_conversation}.get(
                op[0], self.remove_conversation
            )(*op[1:])

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
