"""One chat message: a bubble with Markdown text, a header with the time, and its action bar.

A row emits a single ``action(name, message_id, value)`` signal: "copy", "regenerate", "retry",
"feedback" (value -1/0/1), "version" (value: the sibling id to show), "edit" (value: new text),
"select" (clicked: show why this reply).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import escape as escape_html

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets.composer import MessageEdit


class _EditField(MessageEdit):
    """Editing a sent message: Enter saves and sends, Shift+Enter is a new line, Esc cancels (the
    chat panel's own Esc, which stops a reply, does not take the key from it)."""

    def event(self, event) -> bool:
        keys = (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in keys:
            event.accept()
            return True
        return super().event(event)


_BODY_STYLE = re.compile(r"<body style=\"[^\"]*\">")
MAX_RENDER_CHARS = 20000  # longer texts are shown cut (the whole text is stored and copied)
BUBBLE_PADDING = 30  # left + right inner margins of a bubble, px
STATUS_TAGS = {"stopped": "Stopped", "error": "Error — reply failed", "streaming": "Interrupted"}

_MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
_LINE_ENDS = re.compile("\r\n?|[\x85\u2028\u2029]")
_SOFT = " \ue001"  # put before a line end; after parsing, "<_SOFT> " is a soft break (the space)
_AMP = "\ue002"  # stands for the "&" of an entity while Markdown is parsed
_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
# lines a marker would change the meaning of: fences, ATX headings, rules, underlines, table rules
_NO_MARK = re.compile(r"^ {0,3}(?:```|~~~|#{1,6}(?:\s|$))|^[\s=*_:|+-]*$")
ZWSP = "\u200b"
LONG_RUN = 24  # characters without a break: from here a run may break anywhere in a bubble
_LONG = re.compile(rf"[^\s\u200b]{{{LONG_RUN},}}")


def _mark_lines(text: str) -> str:
    """The text with a soft-break marker at the end of each line that may run on into the next."""
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        if lines[i + 1].strip() and not _NO_MARK.match(lines[i]):
            lines[i] += _SOFT
    return "\n".join(lines)


BREAK_EVERY = 12  # characters between the break chances put into a long run


def _break_long_runs(doc: QTextDocument) -> None:
    """A break chance (zero-width space) every BREAK_EVERY characters of a long word, URL or blob:
    QLabel wraps only at word boundaries, so such a run was cut off at the bubble's right edge."""
    cursor = QTextCursor(doc)
    block = doc.begin()
    while block.isValid():
        for run in reversed(list(_LONG.finditer(block.text()))):  # code too (see _wrapped_code)
            for i in reversed(range(run.start() + BREAK_EVERY, run.end(), BREAK_EVERY)):
                cursor.setPosition(block.position() + i)
                cursor.insertText(ZWSP)
        block = block.next()


def render_markdown(text: str) -> str:
    """Markdown -> HTML through Qt's own parser (QTextDocument.setMarkdown).

    The text is what a person or the bot wrote, so HTML in it stays text (``List<String>`` showed
    as "List", ``<img>`` as an empty bubble) and so do entities (``&amp;``); every line break is
    kept (Markdown joins lines, so a list typed with Shift+Enter became one line), and a long run
    without spaces wraps instead of being cut off.
    """
    text = _LINE_ENDS.sub("\n", text)
    protect = _SOFT[1] not in text and _AMP not in text  # else (never typed in practice) plain Markdown
    if protect:
        text = _mark_lines(_ENTITY.sub(_AMP, text))
    doc = QTextDocument()
    doc.setUndoRedoEnabled(False)
    doc.setMarkdown(text, _MARKDOWN)
    edit = QTextCursor(doc)
    edit.beginEditBlock()  # one layout at the end, not one per change
    _break_long_runs(doc)
    edit.endEditBlock()
    # toHtml() writes the font of the moment into <body style=…>: without it the bubble follows the
    # label's font, so a new text size in Settings applies to the messages already shown too
    html = _BODY_STYLE.sub("<body>", doc.toHtml(), count=1)
    if protect:  # the markers, in the HTML (a search and an edit of the document per marker was slow)
        html = html.replace(_SOFT + " ", "<br />").replace(_SOFT, "").replace(_AMP, "&amp;")
    return _wrapped_code(html)


_PRE = re.compile(r'<pre style="([^"]*)">(.*?)</pre>', re.DOTALL)


def _wrapped_code(html: str) -> str:
    """Code blocks keep their spaces and line breaks but wrap at the bubble's edge: a QLabel lays
    out <pre> unwrapped, so a long line of code was cut off."""
    return _PRE.sub(r'<p style="\1 white-space:pre-wrap;">\2</p>', html)


_LINK = re.compile(r'(<a href="[^"]*">)(.*?)(</a>)', re.DOTALL)
_COLOR = re.compile(r"color:#[0-9a-fA-F]{6};")


def color_links(html: str, color: str) -> str:
    """Links of ``render_markdown``'s HTML drawn in ``color`` and underlined. Qt's Markdown import
    writes the link colour of the moment (the theme's accent) into each link: on the accent-blue
    user bubble a link was invisible, and it kept the old theme's colour after a change."""
    style = f"color:{color}; text-decoration:underline;"
    return _LINK.sub(lambda m: m.group(1) + _COLOR.sub(style, m.group(2)) + m.group(3), html)


def shown_selection(selected: str) -> str:
    """A bubble's selected text as copied: without the break chances of ``_break_long_runs`` (a
    copied URL must work) and with newlines for Qt's separators."""
    for sep in ("\u2029", "\u2028", "\ufdd0", "\ufdd1"):
        selected = selected.replace(sep, "\n")
    return selected.replace(ZWSP, "").replace("\xa0", " ")


def display_text(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_RENDER_CHARS:
        return text, False
    return text[:MAX_RENDER_CHARS], True


def local_time(stamp: str | None) -> tuple[str, str]:
    """(short label, full tooltip) for an ISO UTC timestamp from the store."""
    if not stamp:
        return "", ""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return stamp, stamp
    now = datetime.now(timezone.utc).astimezone()
    short = when.strftime("%H:%M") if when.date() == now.date() else when.strftime("%d %b, %H:%M")
    return short, when.strftime("%A %d %B %Y, %H:%M:%S")


class MessageRow(QWidget):
    action = Signal(str, int, object)

    def __init__(self, message: dict, parent=None) -> None:
        super().__init__(parent)
        self.message = dict(message)
        self.mid = int(message["id"])
        self.role = message["role"]
        self._streaming_text: str | None = None
        self._editor: QWidget | None = None
        self._selected = False
        self._ideal = 0.0
        self._chars = 0  # characters shown (Select All)
        self._max_width = 600
        self._tabbable = True
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 6, 0, 6)
        outer.setSpacing(10)
        self.column = QVBoxLayout()
        self.column.setSpacing(4)
        self.header = QLabel()
        self.header.setObjectName("Timestamp")
        self.bubble = QFrame()
        self.bubble.setObjectName("BubbleUser" if self.role == "user" else "BubbleBot")
        self.bubble.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.bubble.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        inner = QVBoxLayout(self.bubble)
        inner.setContentsMargins(14, 9, 14, 9)
        self.text = QLabel()
        self.text.setObjectName("BubbleText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setOpenExternalLinks(True)
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.text.installEventFilter(self)
        self.text.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)  # its Copy kept the ZWSPs
        self.text.customContextMenuRequested.connect(self._text_menu)
        self._link = ""
        self.text.linkHovered.connect(lambda link: setattr(self, "_link", link))
        self.bubble.installEventFilter(self)
        inner.addWidget(self.text)
        self.footer = QHBoxLayout()
        self.footer.setSpacing(2)
        self._build_footer()
        self.column.addWidget(self.header, 0, self._align())
        self.column.addWidget(self.bubble, 0, self._align())
        self.column.addLayout(self.footer)
        if self.role == "user":
            outer.addStretch(1)
            outer.addLayout(self.column, 0)
        else:
            avatar = QLabel("P")
            avatar.setObjectName("Avatar")
            avatar.setFixedSize(28, 28)
            avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
            outer.addWidget(avatar, 0, Qt.AlignmentFlag.AlignTop)
            outer.addLayout(self.column, 0)
            outer.addStretch(1)
        self.update_message(message)

    def _align(self) -> Qt.AlignmentFlag:
        return Qt.AlignmentFlag.AlignRight if self.role == "user" else Qt.AlignmentFlag.AlignLeft

    # ------------------------------------------------------------------------------ footer
    def _tool(self, icon_name: str, tip: str, name: str, value=None, checkable: bool = False) -> QToolButton:
        b = QToolButton()
        b.setObjectName(f"{name}Button")
        b.setToolTip(tip)
        b.setAccessibleName(theme.spoken(tip))  # icon only: what a screen reader says
        theme.set_icon(b, icon_name, "muted", 15)
        b.setCheckable(checkable)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.clicked.connect(lambda _=False: self.action.emit(name, self.mid, value))
        return b

    def _build_footer(self) -> None:
        f = self.footer
        self.prev_button = self._tool("chevron-left", "Previous version", "prev")
        self.next_button = self._tool("chevron-right", "Next version", "next")
        self.prev_button.clicked.disconnect()
        self.next_button.clicked.disconnect()
        self.prev_button.clicked.connect(lambda: self._step_version(-1))
        self.next_button.clicked.connect(lambda: self._step_version(+1))
        self.version_label = QLabel()
        self.version_label.setObjectName("VersionLabel")
        self.copy_button = self._tool("copy", "Copy text", "copy")
        self.copy_button.clicked.disconnect()
        self.copy_button.clicked.connect(self.copy_text)
        self.status_tag = QLabel()
        self.status_tag.setObjectName("StatusTag")
        self.meta = QLabel()
        self.meta.setObjectName("MutedLabel")
        if self.role == "user":
            self.edit_button = self._tool("edit", "Edit and send again (keeps the old version)", "editor")
            self.edit_button.clicked.disconnect()
            self.edit_button.clicked.connect(self.start_edit)
            self.retry_button = self._tool("regenerate", "Get a reply", "retry")
            f.addStretch(1)
            for w in (
                self.status_tag,
                self.prev_button,
                self.version_label,
                self.next_button,
                self.retry_button,
                self.edit_button,
                self.copy_button,
            ):
                f.addWidget(w)
        else:
            self.regen_button = self._tool("regenerate", "Regenerate (keeps this version)", "regenerate")
            self.up_button = self._tool("thumbs-up", "Good reply", "feedback", 1, checkable=True)
            self.down_button = self._tool("thumbs-down", "Bad reply", "feedback", -1, checkable=True)
            self.why_button = self._tool("why", "Why this reply? Show its attention", "select")
            for b, v in ((self.up_button, 1), (self.down_button, -1)):
                b.clicked.disconnect()
                b.clicked.connect(lambda _=False, v=v: self._feedback(v))
            for w in (self.copy_button, self.regen_button, self.up_button, self.down_button, self.why_button):
                f.addWidget(w)
            f.addSpacing(6)
            for w in (self.prev_button, self.version_label, self.next_button):
                f.addWidget(w)
            f.addSpacing(6)
            f.addWidget(self.status_tag)
            f.addWidget(self.meta)
            f.addStretch(1)

    def _feedback(self, value: int) -> None:
        new = 0 if int(self.message.get("feedback") or 0) == value else value
        self.message["feedback"] = new
        self.up_button.setChecked(new == 1)
        self.down_button.setChecked(new == -1)
        self.action.emit("feedback", self.mid, new)

    def _step_version(self, step: int) -> None:
        versions = self.message.get("versions") or [self.mid]
        i = versions.index(self.mid) + step if self.mid in versions else 0
        if 0 <= i < len(versions):
            self.action.emit("version", self.mid, versions[i])

    # ----------------------------------------------------------------------------- content
    def update_message(self, message: dict) -> None:
        if message == self.message and self._streaming_text is None and self.text.text():
            return  # unchanged: a thread reload must not re-render every bubble
        self.message = dict(message)
        self._streaming_text = None
        self._render(message.get("text") or "", message.get("status") == "streaming")
        short, full = local_time(message.get("created_at"))
        if self.role == "bot":
            model = message.get("model")
            model = escape_html(model or "")  # a folder name, in rich text
            self.header.setText(" · ".join(p for p in ("<b>Parlance</b>", model, short) if p))
        else:
            self.header.setText(short)
        self.header.setToolTip(full)
        self._describe(message.get("text") or "", full)
        versions = message.get("versions") or [self.mid]
        n, k = len(versions), int(message.get("version") or 1)
        for w in (self.prev_button, self.next_button, self.version_label):
            w.setVisible(n > 1)
        self.version_label.setText(f"{k} / {n}")
        self.prev_button.setEnabled(k > 1)
        self.next_button.setEnabled(k < n)
        status = message.get("status") or "complete"
        self.set_status(status)
        if self.role == "bot":
            fb = int(message.get("feedback") or 0)
            self.up_button.setChecked(fb == 1)
            self.down_button.setChecked(fb == -1)
            self.meta.setText(self._meta_text(message))
        else:
            self.retry_button.setVisible(not message.get("has_reply"))

    def _describe(self, text: str, when: str) -> None:
        """What a screen reader says about the message when one of its buttons has focus (the text
        itself is not focusable)."""
        who = "Your message" if self.role == "user" else "Parlance's reply"
        words = " ".join(text.split())
        words = words if len(words) <= 400 else words[:400] + "…"
        described = f"{who}{', ' + when if when else ''}: {words}"
        for b in self.findChildren(QToolButton):
            b.setAccessibleDescription(described)

    def focus_buttons(self) -> list[QToolButton]:
        """The row's action buttons a keyboard user can reach, in the order they are shown."""
        found = [self.footer.itemAt(i).widget() for i in range(self.footer.count())]
        return [b for b in found if isinstance(b, QToolButton) and b.isVisibleTo(self) and b.isEnabled()]

    def set_tabbable(self, on: bool) -> None:
        """Only one row of a chat is in the Tab order (the message list moves it with the arrow
        keys): with every row's buttons there, a long chat was hundreds of Tab presses to cross."""
        if on == self._tabbable:
            return
        self._tabbable = on
        policy = Qt.FocusPolicy.StrongFocus if on else Qt.FocusPolicy.NoFocus
        for b in self.findChildren(QToolButton):
            b.setFocusPolicy(policy)

    @staticmethod
    def _meta_text(message: dict) -> str:
        latency = message.get("latency_ms")
        if not latency:
            return ""
        return f"{latency:.0f} ms" if latency < 1000 else f"{latency / 1000:.1f} s"

    def set_status(self, status: str, live: bool = False) -> None:
        """``live``: this reply is streaming right now (not an interrupted one from before)."""
        self.message["status"] = status
        tag = "" if status == "complete" or (status == "streaming" and live) else STATUS_TAGS.get(status, "")
        self.status_tag.setText(tag)
        self.status_tag.setVisible(bool(tag))
        self.status_tag.setProperty("status", status)
        self.bubble.setProperty("status", status)
        for w in (self.status_tag, self.bubble):
            w.style().unpolish(w)
            w.style().polish(w)
        if self.role == "bot":
            busy = status == "streaming" and live
            for button in (self.regen_button, self.up_button, self.down_button):
                button.setEnabled(not busy)
            self.why_button.setEnabled(not busy and bool(self.message.get("has_attention")))

    def _render(self, text: str, streaming: bool) -> None:
        shown, cut = display_text(text)
        if streaming:
            shown = shown + " ▍"
        html = color_links(render_markdown(shown), self._link_color()) if shown.strip() else "<i>…</i>"
        if cut:
            html += (
                f"<p><i>— showing the first {MAX_RENDER_CHARS:,} of {len(text):,} characters; "
                "Copy takes the whole text.</i></p>"
            )
        self.text.setText(html)
        doc = QTextDocument()
        doc.setDefaultFont(self.text.font())
        doc.setHtml(html)
        self._ideal = doc.idealWidth()
        self._chars = doc.characterCount() - 1
        self._fit_width()

    def _link_color(self) -> str:
        return theme.current_colors()["user_text" if self.role == "user" else "accent"]

    def retheme(self) -> None:
        """Called by theme.retheme: the links take the new theme's colour."""
        self._render(self.full_text(), self._streaming_text is not None)

    def _fit_width(self) -> None:
        # QLabel's own word-wrap guess is narrow; ask for the text's natural width up to the maximum
        room = self._max_width - BUBBLE_PADDING
        self.text.setMinimumWidth(int(min(self._ideal + 4, room)))

    def set_streaming_text(self, text: str) -> None:
        self._streaming_text = text
        self._render(text, True)

    def full_text(self) -> str:
        return self._streaming_text if self._streaming_text is not None else self.message.get("text") or ""

    def copy_selection(self) -> None:
        if self.text.hasSelectedText():
            QGuiApplication.clipboard().setText(shown_selection(self.text.selectedText()))

    def _text_menu(self, pos) -> None:
        """QLabel's own menu (Copy, Copy Link Location, Select All), copying what is shown."""
        menu = QMenu(self.text)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        copy = menu.addAction("Copy", self.copy_selection)
        copy.setEnabled(self.text.hasSelectedText())
        link = self._link
        if link:
            menu.addAction("Copy Link Location", lambda: QGuiApplication.clipboard().setText(link))
        menu.addSeparator()
        menu.addAction("Select All", lambda: self.text.setSelection(0, self._chars))
        menu.popup(self.text.mapToGlobal(pos))

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.full_text())
        self.action.emit("copy", self.mid, None)

    def set_selected(self, on: bool) -> None:
        if on == self._selected and self.bubble.property("selected") is not None:
            return
        self._selected = on
        self.bubble.setProperty("selected", "true" if on else "false")
        self.bubble.style().unpolish(self.bubble)
        self.bubble.style().polish(self.bubble)

    def set_max_width(self, width: int) -> None:
        self._max_width = width
        self.bubble.setMaximumWidth(width)
        self._fit_width()
        if self._editor is not None:
            self._editor.setFixedWidth(width)

    # ------------------------------------------------------------------------------ editing
    def start_edit(self) -> None:
        if self._editor is not None:
            return
        box = QFrame()
        box.setObjectName("Composer")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(8, 8, 8, 8)
        edit = _EditField(self.message.get("text") or "")
        edit.setObjectName("ComposerEdit")
        edit.setTabChangesFocus(True)  # Tab moves on to Cancel and Save (it typed a tab before)
        edit.moveCursor(QTextCursor.MoveOperation.End)
        edit.setMinimumHeight(70)
        edit.setMaximumHeight(160)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel")
        save = QPushButton("Save && send")
        save.setObjectName("PrimaryButton")
        buttons.addWidget(cancel)
        buttons.addWidget(save)
        lay.addWidget(edit)
        lay.addLayout(buttons)
        box.setFixedWidth(max(self.bubble.width(), 420))
        cancel.clicked.connect(self.end_edit)
        save.clicked.connect(lambda: self._submit_edit(edit.toPlainText()))
        edit.submit.connect(lambda: self._submit_edit(edit.toPlainText()))  # Enter, as in the composer
        edit.stop.connect(self.end_edit)  # Esc cancels
        QWidget.setTabOrder(edit, cancel)
        QWidget.setTabOrder(cancel, save)
        edit.textChanged.connect(lambda: save.setEnabled(bool(edit.toPlainText().strip())))
        self.bubble.hide()
        self.column.insertWidget(2, box, 0, self._align())
        self._editor = box
        self.edit_field, self.edit_save = edit, save
        edit.setFocus()

    def _submit_edit(self, text: str) -> None:
        if not text.strip():
            return
        self.end_edit()
        self.action.emit("edit", self.mid, text)

    def end_edit(self) -> None:
        if self._editor is not None:
            self._editor.hide()
            self._editor.deleteLater()
            self._editor = None
        self.bubble.show()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.text and event.type() == QEvent.Type.FontChange:  # a new text size (Settings)
            doc = QTextDocument()
            doc.setDefaultFont(self.text.font())
            doc.setHtml(self.text.text())
            self._ideal = doc.idealWidth()
            self._fit_width()
            return False
        copy = event.type() == QEvent.Type.KeyPress and event.matches(QKeySequence.StandardKey.Copy)
        if obj is self.text and copy:
            self.copy_selection()
            return True
        released = event.type() == QEvent.Type.MouseButtonRelease
        if released and self.role == "bot" and not self.text.hasSelectedText():
            self.action.emit("select", self.mid, None)
        return False
