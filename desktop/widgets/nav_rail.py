"""The navigation rail on the left: one button per panel, settings at the bottom."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QLabel, QToolButton, QVBoxLayout

from desktop import theme


class NavRail(QFrame):
    panel_selected = Signal(str)
    settings_requested = Signal()

    def __init__(self, panels: list[tuple[str, str, str]], parent=None) -> None:
        """``panels``: (key, label, icon name) in order."""
        super().__init__(parent)
        self.setObjectName("NavRail")
        self.setFixedWidth(96)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 12, 0, 10)
        col.setSpacing(2)
        logo = QLabel()
        logo.setObjectName("NavLogo")
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        theme.set_icon(logo, "logo", "accent", 30)
        logo.setToolTip("Parlance")
        col.addWidget(logo)
        col.addSpacing(14)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        for i, (key, label, icon_name) in enumerate(panels, start=1):
            b = self._button(label, icon_name)
            b.setCheckable(True)
            b.setToolTip(f"{label} (Ctrl+{i})")
            b.clicked.connect(lambda _=False, k=key: self.panel_selected.emit(k))
            self.group.addButton(b)
            self.buttons[key] = b
            col.addWidget(b)
        col.addStretch(1)
        self.settings_button = self._button("Settings", "settings")
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.clicked.connect(self.settings_requested)
        col.addWidget(self.settings_button)
        self._fit_width()

    def _button(self, label: str, icon_name: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(label)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        theme.set_icon(b, icon_name, "muted", 22)
        b.setIconSize(QSize(22, 22))
        b.setFixedWidth(86)
        b.setMinimumHeight(58)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        return b

    def _fit_width(self) -> None:
        """As wide as the longest label in the current text size (labels were cut to "Su…ze")."""
        buttons = [*self.buttons.values(), self.settings_button]
        for b in buttons:
            b.ensurePolished()
        widest = max(b.fontMetrics().horizontalAdvance(b.text()) for b in buttons) + 16
        inner = max(86, widest)
        for b in buttons:
            b.setFixedWidth(inner)
        self.setFixedWidth(inner + 10)

    def set_current(self, key: str) -> None:
        for k, b in self.buttons.items():
            b.setChecked(k == key)
            theme.set_icon(b, b.property("icon_name"), "accent_text_on_soft" if k == key else "muted", 22)

    def retheme(self) -> None:
        """After a theme or text-size change (the icons are redrawn by theme.retheme): refit."""
        self._fit_width()
