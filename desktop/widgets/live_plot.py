"""A live line plot: named curves created once and updated with ``setData`` on a throttle timer.

Callers append points or replace a curve's data as often as they like; the widget redraws at most
every ``REDRAW_MS``, and only the curves that changed, so a training run reporting many events a
second never floods the event loop. (Drawing is Python work on the GUI thread, which competes for
the GIL with a training thread: the less drawn, the smoother the window. Hence plain lines unless
``markers``.) pyqtgraph is imported when the first plot is built.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from desktop import theme

REDRAW_MS = 250
PALETTE = ("#4f62e8", "#d64545", "#1f9d55", "#b7791f", "#8e44ad", "#16a2b8", "#e67e22", "#7f8c8d")


def small_pt(font_pt: float) -> float:
    """The size of a plot's axis labels, ticks and legend for the text size ``font_pt``."""
    return max(font_pt - 1.0, 7.0)


def style_plot(plot, c: dict[str, str], font_pt: float) -> None:
    """A pyqtgraph PlotItem's bottom and left axes (lines, grid, tick text, label) in the colours ``c``
    and sized for the text size ``font_pt``; the labels keep their text."""
    tick_font = QFont(QApplication.font())
    tick_font.setPointSizeF(small_pt(font_pt))
    for name in ("bottom", "left"):
        axis = plot.getAxis(name)
        axis.setPen(c["muted"])  # the grid is drawn with it too (faintly)
        axis.setTextPen(c["muted"])
        axis.setTickFont(tick_font)
        axis.setLabel(
            axis.labelText,
            axis.labelUnits,
            axis.labelUnitPrefix,
            unitPower=axis.unitPower,
            color=c["muted"],
            **{"font-size": f"{small_pt(font_pt):g}pt"},
        )


class LivePlot(QWidget):
    def __init__(
        self,
        title: str = "",
        x_label: str = "",
        y_label: str = "",
        log_y: bool = False,
        markers: bool = False,
        parent=None,
    ):
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.widget = pg.PlotWidget()
        self.widget.setMinimumHeight(160)
        self.plot = self.widget.getPlotItem()
        self.title = title
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setMenuEnabled(False)
        self.plot.setLogMode(False, log_y)
        self.log_y = log_y
        self.markers = markers  # dots on the points: for sparse curves (dots cost time to draw)
        self.legend = self.plot.addLegend(offset=(-8, 8))
        self.retheme()
        self.note = QLabel()  # what to do while the plot is empty (set_note), above it
        self.note.setObjectName("MutedLabel")
        self.note.setWordWrap(True)
        self.note.hide()
        lay.addWidget(self.note)
        lay.addWidget(self.widget)
        self.curves: dict[str, object] = {}
        self.data: dict[str, tuple[list[float], list[float]]] = {}
        self.redraws = 0  # how many times curves were actually redrawn (tests, diagnostics)
        self._dirty: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.flush)

    def retheme(self) -> None:
        """Background, title, axes, grid and legend in the theme's colours and at the text size (when
        built, and again after a theme or text size change)."""
        c, pt = theme.current_colors(), theme.font_pt()
        self.widget.setBackground(c["pane"])
        self.plot.setTitle(self.title, color=c["text"], size=f"{pt:g}pt")
        title_font = QFont(QApplication.font())
        title_font.setPointSizeF(pt)
        room = max(30, QFontMetrics(title_font).height() + 12)  # pyqtgraph gives a title 30 px: 10 pt
        self.plot.titleLabel.setMaximumHeight(room)
        self.plot.layout.setRowFixedHeight(0, room)
        style_plot(self.plot, c, pt)
        self.legend.setLabelTextColor(c["text"])
        self.legend.setLabelTextSize(f"{small_pt(pt):g}pt")
        for _sample, label in self.legend.items:
            label.setText(label.text)  # the legend keeps the new colour and size; its labels show them now

    def set_note(self, text: str) -> None:
        """A line above the plot ("select runs to compare them"); empty text hides it."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    # -- data ------------------------------------------------------------------------------------
    def _curve(self, name: str, color: str | None, dashed: bool, width: float):
        if name not in self.curves:
            color = color or PALETTE[len(self.curves) % len(PALETTE)]
            style = self._pg.QtCore.Qt.PenStyle.DashLine if dashed else self._pg.QtCore.Qt.PenStyle.SolidLine
            pen = self._pg.mkPen(color, width=width, style=style)
            marks = (
                {"symbol": "o", "symbolSize": 6, "symbolBrush": color, "symbolPen": None}
                if self.markers
                else {}
            )
            self.curves[name] = self.plot.plot([], [], pen=pen, name=name, **marks)
            self.data[name] = ([], [])
        return self.curves[name]

    def add_point(
        self, name: str, x: float, y: float, color: str | None = None, dashed: bool = False
    ) -> None:
        """Append (x, y) to curve ``name`` (created on first use); drawn at the next redraw."""
        if y is None or not math.isfinite(y) or (self.log_y and y <= 0):
            return
        self._curve(name, color, dashed, 2.0)
        xs, ys = self.data[name]
        xs.append(float(x))
        ys.append(float(y))
        self._schedule(name)

    def set_curve(
        self, name: str, xs, ys, color: str | None = None, dashed: bool = False, width: float = 2.0
    ):
        """Replace curve ``name``'s points (dropping non-finite ones, and non-positive ones on a log axis)."""
        keep = [
            (float(x), float(y))
            for x, y in zip(xs, ys)
            if y is not None and math.isfinite(y) and not (self.log_y and y <= 0)
        ]
        self._curve(name, color, dashed, width)
        self.data[name] = ([p[0] for p in keep], [p[1] for p in keep])
        self._schedule(name)

    def set_log_y(self, on: bool) -> None:
        """Switch the y axis between linear and logarithmic (callers then set their curves again)."""
        self.log_y = on
        self.plot.setLogMode(False, on)

    def remove(self, name: str) -> None:
        curve = self.curves.pop(name, None)
        self.data.pop(name, None)
        self._dirty.discard(name)
        if curve is not None:
            self.plot.removeItem(curve)
            self.legend.removeItem(curve)

    def clear(self) -> None:
        for name in list(self.curves):
            self.remove(name)

    def names(self) -> list[str]:
        return list(self.curves)

    def points(self, name: str) -> int:
        return len(self.data.get(name, ([], []))[0])

    # -- drawing ---------------------------------------------------------------------------------
    def _schedule(self, name: str) -> None:
        self._dirty.add(name)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Redraw the curves that changed since the last redraw (the timer calls this)."""
        if not self._dirty:
            self._timer.stop()
            return
        for name in self._dirty:
            if name in self.curves:
                xs, ys = self.data[name]
                self.curves[name].setData(xs, ys)
        self._dirty.clear()
        self.redraws += 1
