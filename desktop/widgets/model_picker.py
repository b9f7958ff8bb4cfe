"""A model picker: the model folders found for one task (shipped and your own), with their model card.

The chat header uses it for chat models; the Summarize and Caption panels for their models
(``TaskModelPicker`` finds them itself: the files are few and small).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets.panel_parts import min_width_for_text, text_scale


class _ElideText(QObject):
    """Paints a label's text elided ("… could not be u…") in the room it has, with the whole text
    as its tooltip when cut (see :func:`give_way`)."""

    def eventFilter(self, label, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() != QEvent.Type.Paint:
            return False
        rect = label.contentsRect()
        text = label.fontMetrics().elidedText(label.text(), Qt.TextElideMode.ElideRight, rect.width())
        label.setToolTip("" if text == label.text() else label.text())
        painter = QPainter(label)
        align, role = int(label.alignment()), label.foregroundRole()
        label.style().drawItemText(painter, rect, align, label.palette(), label.isEnabled(), text, role)
        painter.end()
        return True


def give_way(label: QLabel) -> None:
    """Let ``label`` (a header's origin text beside a model picker) shrink first, eliding its text,
    so that a narrow header never squeezes the picker's combo under its (i) button."""
    label.setMinimumWidth(0)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.installEventFilter(_ElideText(label))


class ModelCardDialog(QDialog):
    def __init__(self, name: str, folder: str, card: str | None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Model card — {name}")
        self.resize(620, 560)
        col = QVBoxLayout(self)
        where = QLabel(f"<b>{name}</b><br><span>{folder}</span>")
        where.setObjectName("MutedLabel")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(where)
        browser = QTextBrowser()
        browser.setOpenExternalLinks(True)
        browser.setMarkdown(card or "_This model folder has no MODEL_CARD.md._")
        col.addWidget(browser, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)


class ModelPicker(QWidget):
    model_chosen = Signal(str)  # folder
    rescan_requested = Signal()

    def __init__(self, parent=None, noun: str = "chat model") -> None:
        super().__init__(parent)
        self.noun = noun
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.combo = QComboBox()
        self.combo.setMinimumWidth(200)
        self.combo.setToolTip(noun[:1].upper() + noun[1:])
        self.combo.activated.connect(self._on_activated)
        row.addWidget(self.combo)
        self.info_button = QToolButton()
        self.info_button.setToolTip("Model card: what this model is, how it was trained, its limits")
        theme.set_icon(self.info_button, "info", "muted", 17)
        self.info_button.clicked.connect(self.show_card)
        row.addWidget(self.info_button)
        self.rescan_button = QToolButton()
        self.rescan_button.setToolTip("Look for models again (after training one)")
        theme.set_icon(self.rescan_button, "regenerate", "muted", 16)
        self.rescan_button.clicked.connect(self.rescan_requested)
        row.addWidget(self.rescan_button)
        self.entries: list[dict] = []
        self.current: str | None = None
        self._card: str | None = None
        self.combo.addItem("Looking for models…")
        self.combo.setEnabled(False)

    def set_models(self, entries: list[dict]) -> None:
        self.entries = list(entries)
        self.combo.blockSignals(True)
        self.combo.clear()
        if not entries:
            self.combo.addItem(f"No {self.noun} found")
            self.combo.setEnabled(False)
        else:
            self.combo.setEnabled(True)
            for e in entries:
                self.combo.addItem(e["name"], e["folder"])
                first = (e.get("card") or "").strip().splitlines()
                source = "shipped with Parlance" if e["source"] == "shipped" else "trained by you"
                tip = f"{e['name']} ({source})\n{e['folder']}" + (
                    f"\n{first[0].lstrip('# ')}" if first else ""
                )
                self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self._select(self.current)

    def set_current(self, folder: str | None, card: str | None = None) -> None:
        self.current = folder
        if card is not None:
            self._card = card
        self._select(folder)

    def _select(self, folder: str | None) -> None:
        i = self.combo.findData(folder) if folder else -1
        if i >= 0:
            self.combo.setCurrentIndex(i)
        self.info_button.setEnabled(bool(self.entries) and (i >= 0 or self.combo.currentIndex() >= 0))

    def _on_activated(self, index: int) -> None:
        folder = self.combo.itemData(index)
        if folder and folder != self.current:
            self.model_chosen.emit(folder)

    def show_card(self) -> None:
        folder = self.combo.currentData()
        entry = next((e for e in self.entries if e["folder"] == folder), None)
        if entry is None:
            return
        card = entry.get("card") or (self._card if folder == self.current else None)
        ModelCardDialog(entry["name"], folder or "", card, self.window()).open()

    @staticmethod
    def short_name(folder: str) -> str:
        return Path(folder).name


class TaskModelPicker(ModelPicker):
    """The picker of one task's models (config kind ``kind``) in the shipped folder and the user's
    trained runs; ``rescan()`` looks again (the panels call it when shown, so that a run finished
    in the Train panel is there to pick)."""

    def __init__(self, kind: str, noun: str, data=None, parent=None) -> None:
        super().__init__(parent, noun=noun)
        self.kind = kind
        self.data = data
        min_width_for_text(self.combo, 150)
        self._fit_combo()
        self.rescan_requested.connect(self.rescan)

    def _fit_combo(self) -> None:
        """At most 240 px at the usual text size (the panel header keeps room for its own buttons),
        proportionally more at larger ones."""
        scale = text_scale(self.combo)
        self.combo.setMaximumWidth(round(240 * scale))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_combo()

    def rescan(self) -> None:
        from desktop.task_models import entry_for, task_model_entries

        entries = task_model_entries(self.kind, self.data)
        current = self.current
        if current and all(e["folder"] != current for e in entries) and Path(current).is_dir():
            entries.append(entry_for(Path(current)))  # the model in use stays listed (and shown)
        self.set_models(entries)

    def set_current(self, folder: str | None, card: str | None = None) -> None:
        """Show ``folder`` as chosen; a model folder from elsewhere (set by code or an older choice)
        joins the list rather than the list showing another model."""
        if folder and all(e["folder"] != folder for e in self.entries) and Path(folder).is_dir():
            from desktop.task_models import entry_for

            self.set_models([*self.entries, entry_for(Path(folder))])
        super().set_current(folder, card)
