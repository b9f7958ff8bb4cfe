"""Pieces every work panel (Summarize, Caption, Forecast) builds the same way: the title row of
its header, the message banner under the header, the side-by-side splitter, and the service job
signals wired to the panel's own bound methods (never to lambdas: queued to the GUI thread, and
gone with the panel)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout

from desktop import theme
from desktop.widgets.notice import MessageBanner


def title_row(row: QHBoxLayout, title: str, open_tip: str, open_icon: str = "folder") -> tuple:
    """Add the panel's title, the muted label saying where the shown content came from (stretching)
    and an "Open…" button to ``row``; returns (origin label, open button)."""
    label = QLabel(title)
    label.setObjectName("ChatTitle")
    row.addWidget(label)
    origin = QLabel()
    origin.setObjectName("MutedLabel")
    row.addWidget(origin, 1)
    open_button = QPushButton("Open…")
    open_button.setToolTip(open_tip)
    theme.set_icon(open_button, open_icon, "text", 16)
    return origin, open_button


def add_banner(panel, col: QVBoxLayout) -> MessageBanner:
    """A dismissable message banner in ``col``; sets ``panel.message`` and ``panel.message_label``."""
    panel.message = MessageBanner()
    panel.message_label = panel.message.label
    wrap = QVBoxLayout()
    wrap.setContentsMargins(24, 10, 24, 0)
    wrap.addWidget(panel.message)
    col.addLayout(wrap)
    return panel.message


def side_by_side() -> QSplitter:
    """A horizontal splitter whose panes never collapse, with a hairline handle."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setChildrenCollapsible(False)
    splitter.setHandleWidth(1)
    return splitter


def listen_to_jobs(panel) -> None:
    """The service's job signals to ``panel._on_job_finished / _on_job_failed / _on_job_progress``."""
    s = panel.service
    s.job_finished.connect(panel._on_job_finished)
    s.job_failed.connect(panel._on_job_failed)
    s.job_progress.connect(panel._on_job_progress)


BASE_PT = 10.0  # the text size the panes' pixel widths were designed at


def text_scale(widget) -> float:
    """How much larger than BASE_PT ``widget``'s text is (1 at the usual size or smaller)."""
    return max(1.0, widget.font().pointSizeF() / BASE_PT)


class _WidthFollowsFont(QObject):
    """Keeps a pane's minimum width in step with the text size (see :func:`min_width_for_text`)."""

    def __init__(self, widget, px: int) -> None:
        super().__init__(widget)  # lives as long as the pane
        self.px = px
        widget.installEventFilter(self)
        self.apply(widget)

    def apply(self, widget) -> None:
        widget.setMinimumWidth(int(round(self.px * text_scale(widget))))

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.FontChange:
            self.apply(obj)
        return False


def min_width_for_text(widget, px: int) -> None:
    """``widget.setMinimumWidth(px)`` at the usual text size, and proportionally more at larger ones
    (Settings allows up to 18 pt: side panes' buttons and table headers were cut at 16)."""
    _WidthFollowsFont(widget, px)
