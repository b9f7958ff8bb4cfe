"""Light and dark palettes, the stylesheet and tinted SVG icons.

"system" follows ``QStyleHints.colorScheme`` (and its change signal); "light"/"dark" force one.
Colours live in two dictionaries; ``resources/styles/app.qss`` refers to them as ``$name``.
"""

from __future__ import annotations

import functools
from string import Template

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop.paths import RESOURCES

THEMES = ("system", "light", "dark")

LIGHT = {
    "window": "#f7f8fa",
    "surface": "#ffffff",
    "pane": "#fbfbfc",
    "rail": "#f0f2f5",
    "border": "#e2e5ea",
    "hover": "#eceef2",
    "scroll": "#cfd4dc",
    "text": "#1d2127",
    "muted": "#6b7280",
    "disabled": "#b9c0cc",
    "accent": "#4f62e8",
    "accent_hover": "#3f51d6",
    "accent_soft": "#e6e9fd",
    "accent_text_on_soft": "#2f3fb8",
    "accent_ring": "#1d2a8a",
    "on_accent": "#ffffff",
    "user_bubble": "#4f62e8",
    "user_text": "#ffffff",
    "bot_bubble": "#ffffff",
    "ok": "#1f9d55",
    "warn": "#b7791f",
    "warn_soft": "#fdf3e1",
    "danger": "#d64545",
}
DARK = {
    "window": "#15171c",
    "surface": "#1f2229",
    "pane": "#1a1d22",
    "rail": "#111317",
    "border": "#2c3039",
    "hover": "#272b33",
    "scroll": "#3a3f4a",
    "text": "#e7e9ee",
    "muted": "#9aa1ae",
    "disabled": "#454b57",
    "accent": "#7c8cff",
    "accent_hover": "#8f9dff",
    "accent_soft": "#2a2f4d",
    "accent_text_on_soft": "#c3caff",
    "accent_ring": "#dfe3ff",
    "on_accent": "#0f1220",
    "user_bubble": "#4b5bd6",
    "user_text": "#ffffff",
    "bot_bubble": "#1f2229",
    "ok": "#48bb78",
    "warn": "#e2a03f",
    "warn_soft": "#3a3020",
    "danger": "#f56565",
}


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve(theme: str) -> str:
    """'light' or 'dark' for a setting value; unknown values fall back to 'system'."""
    if theme == "dark" or theme == "light":
        return theme
    return "dark" if system_is_dark() else "light"


def colors(theme: str) -> dict[str, str]:
    return DARK if resolve(theme) == "dark" else LIGHT


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, key in (
        (role.Window, "window"),
        (role.WindowText, "text"),
        (role.Base, "surface"),
        (role.AlternateBase, "pane"),
        (role.Text, "text"),
        (role.Button, "surface"),
        (role.ButtonText, "text"),
        (role.Highlight, "accent"),
        (role.HighlightedText, "on_accent"),
        (role.ToolTipBase, "surface"),
        (role.ToolTipText, "text"),
        (role.PlaceholderText, "muted"),
        (role.Link, "accent"),
        (role.Mid, "border"),
        (role.Midlight, "hover"),
    ):
        p.setColor(r, QColor(c[key]))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor(c["disabled"]))
    return p


def stylesheet(c: dict[str, str], font_pt: float) -> str:
    text = (RESOURCES / "styles" / "app.qss").read_text(encoding="utf-8")
    sizes = {
        "font_pt": f"{font_pt:g}pt",
        "small_pt": f"{max(font_pt - 1.5, 7):g}pt",
        "large_pt": f"{font_pt + 1.5:g}pt",
        "icons": (RESOURCES / "icons").as_posix(),
        "title_pt": f"{font_pt + 2.5:g}pt",
    }
    return Template(text).safe_substitute({**c, **sizes})


def apply(app, theme: str, font_pt: float) -> dict[str, str]:
    """Style the whole application; returns the colour dictionary in use."""
    c = colors(theme)
    app.setStyle("Fusion")
    font = QFont(app.font())
    font.setPointSizeF(font_pt)
    app.setFont(font)
    app.setPalette(_palette(c))
    app.setStyleSheet(stylesheet(c, font_pt))
    app.setProperty("parlance_colors", c)
    return c


def current_colors() -> dict[str, str]:
    app = QGuiApplication.instance()
    c = app.property("parlance_colors") if app is not None else None
    return dict(c) if c else dict(LIGHT)


def icon(name: str, color: str | None = None, size: int = 20) -> QIcon:
    """A shipped SVG icon drawn in ``color`` (default: the theme's text colour)."""
    return _icon(name, color or current_colors()["text"], size)


@functools.lru_cache(maxsize=512)  # every message row draws the same few icons
def _icon(name: str, color: str, size: int) -> QIcon:
    svg = (RESOURCES / "icons" / f"{name}.svg").read_text(encoding="utf-8").replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    for scale in (1, 2):
        pm = QPixmap(QSize(size * scale, size * scale))
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        renderer.render(painter)
        painter.end()
        pm.setDevicePixelRatio(scale)
        result.addPixmap(pm)
    return result


def set_icon(target, name: str, color_key: str = "text", size: int = 18) -> None:
    """Give a button, a label (as its pixmap) or an action a themed icon; :func:`retint` redraws it
    when the theme changes."""
    from PySide6.QtWidgets import QLabel

    target.setProperty("icon_name", name)
    target.setProperty("icon_color", color_key)
    target.setProperty("icon_size", size)
    drawn = icon(name, current_colors()[color_key], size)
    if isinstance(target, QLabel):
        target.setPixmap(drawn.pixmap(size, size))
        return
    target.setIcon(drawn)
    if hasattr(target, "setIconSize"):
        target.setIconSize(QSize(size, size))


def font_pt() -> float:
    """The application's text size in points (what :func:`apply` set)."""
    app = QGuiApplication.instance()
    size = app.font().pointSizeF() if app is not None else -1.0
    return size if size > 0 else 10.0


def spoken(tip: str) -> str:
    """A tooltip as an accessible name: without its shortcut ("Send (Enter)" -> "Send")."""
    return tip.split("(")[0].strip() or tip


def name_icon_buttons(root) -> None:
    """Icon-only buttons under ``root`` (and ``root`` itself) get their tooltip as accessible name,
    so a screen reader says "Copy" or "Export conversation" rather than "button"."""
    from PySide6.QtWidgets import QAbstractButton

    buttons = root.findChildren(QAbstractButton)
    if isinstance(root, QAbstractButton):
        buttons.append(root)
    for b in buttons:
        if not b.text() and b.toolTip():
            b.setAccessibleName(spoken(b.toolTip()))


def retint(root) -> None:
    """Redraw every themed icon (:func:`set_icon`) under ``root`` (after a theme change)."""
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QAbstractButton, QLabel

    targets = [root] if root.property("icon_name") else []
    for kind in (QAbstractButton, QLabel, QAction):
        targets += root.findChildren(kind)
    for t in targets:
        name = t.property("icon_name")
        if name:
            set_icon(t, name, t.property("icon_color") or "text", int(t.property("icon_size") or 18))


def retheme(root) -> None:
    """After :func:`apply`: redraw the themed icons under ``root`` and call ``retheme()`` on ``root``
    and every widget under it that has one. A widget that bakes the theme's colours or text size
    into what it shows (rich text, plots, pixmaps) defines ``retheme()`` to draw its content again
    with :func:`current_colors` and :func:`font_pt`."""
    from PySide6.QtWidgets import QWidget

    retint(root)
    for w in [root, *root.findChildren(QWidget)]:
        hook = getattr(w, "retheme", None)
        if callable(hook):
            hook()
