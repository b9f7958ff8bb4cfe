"""The scrolling list of message bubbles of one conversation branch.

``set_messages`` diffs by message id (rows are reused, so a reply that streams does not flicker);
streamed pieces are buffered and drawn at most every ``FLUSH_MS``, so a fast model never floods
the event loop with re-layouts. With the keyboard, Tab reaches one message's buttons (the newest,
or the one last visited) and Up/Down/Home/End move between messages.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.bubble import MessageRow

FLUSH_MS = 40  # streamed text is redrawn at most this often
PAGE = 60  # messages drawn at first, and added by each "Show earlier messages"
_MOVE_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End)
MAX_BUBBLE = 760  # px


class MessageList(QScrollArea):
    action = Signal(str, int, object)  # forwarded from the rows (see bubble.MessageRow)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageScroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        host = QWidget()
        host.setObjectName("MessageHost")
        outer = QVBoxLayout(host)
        outer.setContentsMargins(28, 18, 28, 18)
        outer.setSpacing(4)
        self.earlier = QPushButton()  # "Show 60 earlier messages": a long chat is drawn a page at a time
        self.earlier.setObjectName("EarlierButton")
        self.earlier.clicked.connect(self.show_earlier)
        self.earlier.hide()
        outer.addWidget(self.earlier, 0, Qt.AlignmentFlag.AlignHCenter)
        self.vbox = QVBoxLayout()
        self.vbox.setSpacing(4)
        self.vbox.addStretch(1)
        outer.addLayout(self.vbox, 1)
        self.setWidget(host)
        self.rows: dict[int, MessageRow] = {}
        self.order: list[int] = []  # the ids of the whole branch, root first
        self.shown: list[int] = []  # the ids drawn (the end of ``order``, from ``_first`` on)
        self._first: int | None = None  # the oldest message drawn
        self._messages: list[dict] = []
        self._cid = None  # the conversation shown (its messages' conversation_id)
        self._anchor: tuple[int, int] | None = None  # (row id, its y on screen) kept while rows appear above
        self.selected: int | None = None
        self.current: int | None = None  # the row whose buttons Tab reaches (arrow keys move it)
        self._stream: dict[int, str] = {}
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._flush_stream)
        self._follow = True
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.verticalScrollBar().actionTriggered.connect(self._on_user_scroll)
        self.verticalScrollBar().rangeChanged.connect(self._on_range)

    # --------------------------------------------------------------------------- content
    def set_messages(self, messages: list[dict], live: int | None = None) -> None:
        """Show ``messages`` (root first): the last PAGE of them, or from the oldest one drawn
        before (show_earlier, select). ``live``: the id of a reply streaming right now. Drawing
        600 messages at once froze the window for seconds."""
        self._messages = messages
        before, self.order = self.order, [int(m["id"]) for m in messages]
        cid, self._cid = self._cid, messages[0].get("conversation_id") if messages else None
        k = before.index(self._first) if self._first in before else -1
        if self._first in self.order:
            start = self.order.index(self._first)
        elif k >= 0 and cid == self._cid is not None and self.order[:k] == before[:k]:
            start = min(k, len(self.order) - 1)  # another version of the oldest message drawn: the page
            # starts at the same place (it showed the newest page, without the message just switched)
        else:  # another conversation: its newest page
            start = max(0, len(messages) - PAGE)
            self._anchor = None
        self._first = self.order[start] if messages else None
        messages = messages[start:]
        self.earlier.setVisible(start > 0)
        self.earlier.setText(
            f"Show {PAGE} earlier messages ({start:,} not shown)"
            if start > PAGE
            else f"Show the {start} earlier message{'s' if start != 1 else ''}"
        )
        ids = [int(m["id"]) for m in messages]
        for mid in [m for m in self.rows if m not in ids]:
            row = self.rows.pop(mid)
            row.hide()
            row.deleteLater()  # a streaming reply keeps its buffered text (see finish_stream)
        # Re-lay out only when the order changed; a new reply just appends (cheap while streaming).
        keep = len(self.shown) if ids[: len(self.shown)] == self.shown else 0
        if not keep:
            while self.vbox.count() > 1:
                self.vbox.takeAt(0)
        width = self._bubble_width()
        for i, m in enumerate(messages):
            mid = int(m["id"])
            row = self.rows.get(mid)
            if row is None:
                row = MessageRow(m, self.widget())
                row.action.connect(self.action)
                for button in row.findChildren(QToolButton):
                    button.installEventFilter(self)
                row.set_max_width(width)
                self.rows[mid] = row
            elif mid in self._stream and m.get("status") == "streaming":
                pass  # keep the streamed text until the reply finishes
            else:
                row.update_message(m)
            if mid == live:
                row.set_status("streaming", live=True)
                if mid in self._stream:
                    row.set_streaming_text(self._stream[mid])
            row.set_selected(mid == self.selected)
            if i >= keep:
                self.vbox.insertWidget(i, row)
        self.shown = ids
        if self.selected not in self.rows:
            self.selected = None
        keep = self.current in self.rows and self._has_focus()  # the user is in the list: stay there
        self._set_current(self.current if keep else ids[-1] if ids else None)

    def clear(self) -> None:
        self.selected = None
        self.set_messages([])

    def show_earlier(self, upto: int | None = None) -> None:
        """Draw PAGE more of the older messages (or back to message ``upto``), keeping the view
        where it was."""
        if self._first not in self.order:
            return
        start = self.order.index(self._first)
        start = self.order.index(upto) if upto in self.order[:start] else max(0, start - PAGE)
        top = self.rows.get(self.shown[0]) if self.shown else None
        if top is not None:  # the row on top stays where it is on screen as earlier rows come above it
            self._anchor = (top.mid, top.y() - self.verticalScrollBar().value())
        self._follow = False
        self._first = self.order[start]
        self.set_messages(self._messages)

    def append_token(self, mid: int, piece: str) -> None:
        self._stream[mid] = self._stream.get(mid, "") + piece
        if not self._flush.isActive():
            self._flush.start()

    def _flush_stream(self) -> None:
        for mid, text in self._stream.items():
            row = self.rows.get(mid)
            if row is not None:
                row.set_streaming_text(text)

    def finish_stream(self, mid: int) -> None:
        self._flush.stop()
        self._stream.pop(mid, None)

    def streamed_text(self, mid: int) -> str:
        return self._stream.get(mid, "")

    # -------------------------------------------------------------------- selection/scroll
    def select(self, mid: int | None, scroll: bool = True) -> None:
        if mid in self.order and mid not in self.rows:  # older than the rows drawn (a search hit)
            self._first = mid
            self.set_messages(self._messages)
        if self.selected in self.rows:
            self.rows[self.selected].set_selected(False)
        self.selected = mid if mid in self.rows else None
        if self.selected is not None:
            row = self.rows[self.selected]
            row.set_selected(True)
            if scroll:
                self._follow = False
                QTimer.singleShot(0, self, lambda r=row: self._ensure_visible(r))

    def _ensure_visible(self, row: MessageRow) -> None:
        if row in self.rows.values():  # still shown (a newer thread may have replaced it)
            self._anchor = None
            self.ensureWidgetVisible(row, 0, 60)

    def scroll_to_end(self) -> None:
        self._follow = True
        self._anchor = None
        QTimer.singleShot(0, self, self._to_bottom)

    def _to_bottom(self) -> None:
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 40

    def _on_user_scroll(self, _action: int) -> None:
        """The person scrolled (wheel, drag, keys): the earlier rows are in place. Any change of the
        value dropped the anchor, also the one a shrinking range makes while the rows are placed,
        and the view was left at the top (seen when drawing took longer)."""
        self._anchor = None

    def _on_range(self, _min: int, maximum: int) -> None:
        if self._anchor is not None:  # after the rows are placed: the range changes before they move
            QTimer.singleShot(0, self, self._keep_anchor)
        elif self._follow:
            self.verticalScrollBar().setValue(maximum)

    def _keep_anchor(self) -> None:
        if self._anchor is not None:
            self.verticalScrollBar().setValue(self._anchored_value())

    def _anchored_value(self) -> int:
        """The scroll position that keeps the anchor row where it was on screen (a reply streaming in
        below does not move it: keeping the distance to the end did)."""
        mid, offset = self._anchor or (None, 0)
        row = self.rows.get(mid)
        return self.verticalScrollBar().value() if row is None else row.y() - offset

    # -------------------------------------------------------------------------- keyboard
    def _has_focus(self) -> bool:
        focused = QApplication.focusWidget()
        return focused is not None and self.widget().isAncestorOf(focused)

    def _row_of(self, widget: QObject) -> MessageRow | None:
        while widget is not None and not isinstance(widget, MessageRow):
            widget = widget.parent()
        return widget

    def move_current(self, key: Qt.Key, from_button: QToolButton | None = None) -> bool:
        """Up/Down go to the previous/next message's buttons, Home/End to the first/last; the
        button of the same kind is focused where the row has one."""
        if self.current not in self.rows:
            return False
        i = self.shown.index(self.current)
        if key == Qt.Key.Key_Up and i == 0 and self.earlier.isVisible():
            self.show_earlier()  # Up on the oldest row drawn draws the page before it
            i = self.shown.index(self.current)
        steps = {Qt.Key.Key_Up: i - 1, Qt.Key.Key_Down: i + 1, Qt.Key.Key_Home: 0}
        target = steps.get(key, len(self.shown) - 1)
        if not 0 <= target < len(self.shown) or target == i:
            return False
        row = self.rows[self.shown[target]]
        buttons = row.focus_buttons()
        if not buttons:
            return False
        name = from_button.objectName() if from_button is not None else ""
        button = next((b for b in buttons if b.objectName() == name), buttons[0])
        self._set_current(row.mid)
        button.setFocus(Qt.FocusReason.OtherFocusReason)
        self._follow = False
        self._anchor = None
        self.ensureWidgetVisible(row, 0, 60)
        return True

    def _set_current(self, mid: int | None) -> None:
        """Make ``mid``'s row the one whose buttons Tab reaches."""
        self.current = mid
        for other_mid, row in self.rows.items():
            row.set_tabbable(other_mid == mid)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.FocusIn:
            row = self._row_of(obj)
            if row is not None and row.mid != self.current and row.mid in self.rows:
                self._set_current(row.mid)
        elif kind == QEvent.Type.KeyPress and event.key() in _MOVE_KEYS and not event.modifiers():
            row = self._row_of(obj)
            if row is not None:
                self.current = row.mid
                self.move_current(event.key(), obj)
                return True
        return super().eventFilter(obj, event)

    # ---------------------------------------------------------------------------- layout
    def _bubble_width(self) -> int:
        return max(240, min(MAX_BUBBLE, int(self.viewport().width() * 0.74)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width = self._bubble_width()
        for row in self.rows.values():
            row.set_max_width(width)
