"""The history pane beside the chat: new chat, search over all history (FTS5), the conversation list.

Typing in the search field (Ctrl+F) swaps the list for ranked results with the matches
highlighted; choosing one jumps to that message (or opens the summary, caption or forecast in its
panel). The results can be narrowed to one kind; a summary, caption or forecast found there can be
deleted (Del or the context menu). Esc or clearing the field brings the list back.
"""

from __future__ import annotations

import html
import re
import unicodedata

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets.bubble import local_time
from desktop.widgets.conversation_list import ConversationList

SEARCH_DELAY_MS = 200
DOWN_KEYS = (Qt.Key.Key_Down, Qt.Key.Key_PageDown)  # from the search field into the list below
SEARCH_LIMIT = 50  # hits asked of the history (desktop.chat_slots.search's default)
KIND_LABELS = {"message": "Chat", "summary": "Summary", "caption": "Caption", "forecast": "Forecast"}
KIND_FILTERS = (  # the results' kind box: label, kinds asked of the history (None: all)
    ("Everything", None),
    ("Chats", ["message"]),
    ("Summaries", ["summary"]),
    ("Captions", ["caption"]),
    ("Forecasts", ["forecast"]),
)
DELETABLE = ("summary", "caption", "forecast")  # a chat is deleted from the conversation list


def highlight(text: str, matches: list, mark_bg: str, mark_fg: str) -> str:
    """A search snippet as HTML: the matches (``[start, end)`` in ``text``) bold and tinted, the rest
    escaped (brackets, markup and Markdown emphasis in the text are shown as text)."""
    text = text or ""
    parts, pos = [], 0
    open_tag = f"<span style='background:{mark_bg}; color:{mark_fg}; font-weight:600'>"
    for start, end in sorted(m for m in matches or [] if 0 <= m[0] < m[1] <= len(text)):
        if start < pos:
            continue
        parts += [_plain(text[pos:start]), open_tag, _plain(text[start:end]), "</span>"]
        pos = end
    parts.append(_plain(text[pos:]))
    return "".join(parts)


def _plain(text: str) -> str:
    for marker in ("**", "__", "`"):  # Markdown emphasis reads as noise in a one-line snippet
        text = text.replace(marker, "")
    return html.escape(_breakable(text))


ROW_MARGINS_PX = 2  # top + bottom margin of a result row (#ResultList::item in resources/styles/app.qss)
BREAK_EVERY = 12  # characters between the break chances put into a long word
_LONG_RUN = re.compile(rf"\S{{{2 * BREAK_EVERY},}}")


def _breakable(text: str) -> str:
    """Zero-width spaces every BREAK_EVERY characters of a long word (a URL, a hash), where they
    split no character from its marks, no emoji and no joined script: a label wraps at word
    boundaries only, so the end of such a word ran past the row's edge."""

    def split(m: re.Match) -> str:
        word, out = m.group(), []
        last = 0
        for i in range(1, len(word)):
            if i - last >= BREAK_EVERY and _break_ok(word[i - 1]) and _break_ok(word[i]):
                out.append(word[last:i])
                last = i
        return "\u200b".join([*out, word[last:]])

    return _LONG_RUN.sub(split, text)


def _break_ok(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNP" and unicodedata.bidirectional(ch) != "AL"


def _result_html(r: dict, c: dict[str, str]) -> tuple[str, str]:
    """One search result as rich text in the colours ``c`` (title, kind and time, the snippet), and
    as the plain line a screen reader says for it."""
    short, _ = local_time(r.get("created_at"))
    kind = KIND_LABELS.get(r.get("kind"), r.get("kind", ""))
    title = r.get("title") or "Untitled"
    text, marks = r.get("snippet_text", r.get("snippet", "")), r.get("matches", [])
    # FSI … PDI: the title is a unit of its own direction; in a Hebrew title the meta landed between
    # its words ("abc · Chat · 14:01 שלום 2024 עולם")
    rich = (
        f"<div><b>\u2068{html.escape(_breakable(title))}\u2069</b> "
        f"<span style='color:{c['muted']}'>· {kind} · {short}</span></div>"
        f"<div style='color:{c['text']}'>"
        f"{highlight(text, marks, c['accent_soft'], c['accent_text_on_soft'])}</div>"
    )
    return rich, f"{title}, {kind}, {short}: {text}"


class HistoryPane(QWidget):
    new_chat = Signal()
    import_requested = Signal()
    search_requested = Signal(str, object)  # query, kinds (None: all)
    result_chosen = Signal(object)
    delete_result_requested = Signal(str, int)  # kind, id of a summary, caption or forecast

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ConvPane")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(220)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 12, 0, 8)
        col.setSpacing(8)
        top = QHBoxLayout()
        top.setContentsMargins(12, 0, 12, 0)
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("NewChatButton")
        self.new_button.setToolTip("New conversation (Ctrl+N)")
        theme.set_icon(self.new_button, "plus", "text", 16)
        self.new_button.clicked.connect(self.new_chat)
        top.addWidget(self.new_button, 1)
        self.import_button = QToolButton()
        self.import_button.setToolTip("Import a conversation (JSON export)")
        theme.set_icon(self.import_button, "import", "muted", 17)
        self.import_button.clicked.connect(self.import_requested)
        top.addWidget(self.import_button)
        col.addLayout(top)
        self.search = QLineEdit()
        self.search.setObjectName("SearchField")
        self.search.setPlaceholderText("Search all history  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search_icon = self.search.addAction(QIcon(), QLineEdit.ActionPosition.LeadingPosition)
        theme.set_icon(self.search_icon, "search", "muted", 16)  # theme.retint redraws it
        self.search.textChanged.connect(self._on_text)
        self.search.returnPressed.connect(self._choose_first)
        search_row = QHBoxLayout()
        search_row.setContentsMargins(12, 0, 12, 0)
        search_row.addWidget(self.search)
        col.addLayout(search_row)
        self.stack = QStackedWidget()
        self.conversations = ConversationList()
        self.stack.addWidget(self.conversations)
        results_page = QWidget()
        rcol = QVBoxLayout(results_page)
        rcol.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 12, 0)
        self.results_label = QLabel()
        self.results_label.setObjectName("SectionLabel")
        head.addWidget(self.results_label, 1)
        self.kind_box = QComboBox()
        for label, kinds in KIND_FILTERS:
            self.kind_box.addItem(label, kinds)
        self.kind_box.setToolTip("Show results of one kind only")
        self.kind_box.setAccessibleName("Kind of results")
        self.kind_box.currentIndexChanged.connect(lambda _i: self.refresh_search())
        head.addWidget(self.kind_box)
        rcol.addLayout(head)
        self.results = QListWidget()
        self.results.setObjectName("ResultList")
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.itemClicked.connect(self._on_result)
        self.results.itemActivated.connect(self._on_result)
        self.results.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.results.customContextMenuRequested.connect(self._result_menu)
        self.results.installEventFilter(self)  # its rows reflow when the pane's width changes
        self.search.installEventFilter(self)  # Down goes from the search field to the results
        rcol.addWidget(self.results, 1)
        self.stack.addWidget(results_page)
        col.addWidget(self.stack, 1)
        self.empty = QLabel("No conversations yet.\nStart one on the right.")
        self.empty.setObjectName("EmptyText")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        col.addWidget(self.empty)
        self.empty.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.refresh_search)
        self.last_results: list[dict] = []
        self._empty = False  # the history holds no conversations (the hint shows with the list)

    # ---------------------------------------------------------------------------- search
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_text(self, text: str) -> None:
        if text.strip():
            self.stack.setCurrentIndex(1)
            self.results_label.setText("Searching…")
            self._timer.start()
        else:
            self._timer.stop()
            self.stack.setCurrentIndex(0)
        self.set_empty(self._empty)  # "No conversations yet" stood under the search results

    def show_results(self, query: str, results: list[dict]) -> None:
        if query != self.search.text().strip():
            return  # an older answer; a newer search is on its way
        self.last_results = results
        self.results.clear()
        c = theme.current_colors()
        n = len(results)
        if n >= SEARCH_LIMIT:  # the search stops there: say so rather than a count that looks exact
            self.results_label.setText(f"The best {n} results (refine the words to narrow them)")
        else:
            self.results_label.setText(f"{n} result{'s' if n != 1 else ''}" if n else "No matches")
        for r in results:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, r)
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(12, 7, 12, 7)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
            rich, plain = _result_html(r, c)
            label.setText(rich)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, plain)  # (the label draws the row's text)
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
            self._fit_row(item, label)

    def retheme(self) -> None:
        """Draw the results shown again in the theme's colours (their text holds them) and refit their
        rows to the text size; the selection and scroll position stay."""
        c = theme.current_colors()
        for i in range(self.results.count()):
            item = self.results.item(i)
            label = self.results.itemWidget(item)
            result = item.data(Qt.ItemDataRole.UserRole)
            if label is not None and result:
                label.setText(_result_html(result, c)[0])
                self._fit_row(item, label)

    def _fit_row(self, item: QListWidgetItem, label: QLabel) -> None:
        """The row as tall as its label's text wrapped at the row's width (its size hint, the text
        unwrapped, was 46089×78 for a long URL, and the snippet line fell off the row)."""
        width = max(self.results.viewport().width() - 20, 160)
        label.setFixedWidth(width)
        height = label.heightForWidth(width)
        label.resize(width, height)
        # the row holds the label inside its margins (app.qss: #ResultList::item margin 1px): a row
        # of the label's height left it 2 px short, its last line clipped
        item.setSizeHint(QSize(width, height + ROW_MARGINS_PX))

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if (
            obj is self.results
            and kind == QEvent.Type.Resize
            and event.oldSize().width() != event.size().width()
        ):
            for i in range(self.results.count()):
                item = self.results.item(i)
                label = self.results.itemWidget(item)
                if label is not None:
                    self._fit_row(item, label)
        elif obj is self.results and kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Delete:
            self._delete(self.results.currentItem())
            return True
        elif obj is self.search and kind == QEvent.Type.KeyPress and event.key() in DOWN_KEYS:
            if self.stack.currentIndex() == 1 and self.results.count():
                self.results.setCurrentRow(0)
                self.results.setFocus(Qt.FocusReason.TabFocusReason)
                return True
            if self.stack.currentIndex() == 0 and self.conversations.count():
                self.conversations.setFocus(Qt.FocusReason.TabFocusReason)
                return True
        return False

    def _on_result(self, item: QListWidgetItem) -> None:
        result = item.data(Qt.ItemDataRole.UserRole)
        if result:
            self.result_chosen.emit(result)

    def _result_menu(self, pos) -> None:
        item = self.results.itemAt(pos)
        result = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not result:
            return
        menu = QMenu(self)
        menu.addAction("Open", lambda: self._on_result(item))
        if result.get("kind") in DELETABLE:
            what = KIND_LABELS[result["kind"]].lower()
            menu.addAction(f"Delete this {what}\tDel", lambda: self._delete(item))
        menu.exec(self.results.viewport().mapToGlobal(pos))

    def _delete(self, item: QListWidgetItem | None) -> None:
        result = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if result and result.get("kind") in DELETABLE:
            self.delete_result_requested.emit(result["kind"], int(result["id"]))

    def _choose_first(self) -> None:
        self._timer.stop()
        if self.results.count():
            self.results.setCurrentRow(0)
            self._on_result(self.results.item(0))

    def refresh_search(self) -> None:
        """Ask for the search typed (as typing pauses, and again after a delete or restore)."""
        if self.search.text().strip():
            self.search_requested.emit(self.search.text().strip(), self.kind_box.currentData())

    def clear_search(self) -> None:
        self.search.clear()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.search.text():
            self.clear_search()
            return
        super().keyPressEvent(event)

    def set_empty(self, empty: bool) -> None:
        self._empty = empty
        self.empty.setVisible(empty and self.stack.currentIndex() == 0)
