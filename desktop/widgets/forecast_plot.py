"""The forecast plot: history, forecast line, 80/95% fan and backtest forecasts, on one pyqtgraph
plot. Every curve is created once and updated with ``setData``; zoom and pan are pyqtgraph's own
(drag, wheel, right-click menu; "A" button to fit). Dated series get a date axis (POSIX seconds).
"""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage, QImageWriter
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop import theme
from engine.history_export import write_whole

HISTORY_COLOR = "#5b6472"  # on the light theme's pane (5.8:1)
HISTORY_COLOR_DARK = "#7a8494"  # on the dark theme's pane (4.5:1; graphics need 3:1)
FORECAST_COLOR = "#4f62e8"
BACKTEST_COLOR = "#e67e22"
FAN_POINTS = 1500  # most vertices per edge of an interval fan
MAX_LABEL_CHARS = 60  # a longer column name is elided in the axis label, title and legend
LEGEND_MARGIN = 12, 8  # px between the legend and the plot's edges
# where the legend may stand, in order of preference: (item/parent anchor, offset signs)
CORNERS = {
    "top-left": ((0, 0), (1, 1)),
    "top-right": ((1, 0), (-1, 1)),
    "bottom-left": ((0, 1), (1, -1)),
    "bottom-right": ((1, 1), (-1, -1)),
}


class ForecastPlot(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        self._title = ""  # the forecast's title ("" : none)
        self.date_axis = _axis_class(pg)(orientation="bottom")
        self.widget = pg.PlotWidget(axisItems={"bottom": self.date_axis})
        self.plot = self.widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.legend = self.plot.addLegend(offset=LEGEND_MARGIN)
        self.legend_corner = "top-left"
        fc = pg.mkColor(FORECAST_COLOR)
        edge = pg.mkPen(None)
        self.hi95 = pg.PlotDataItem(pen=edge)
        self.lo95 = pg.PlotDataItem(pen=edge)
        self.hi80 = pg.PlotDataItem(pen=edge)
        self.lo80 = pg.PlotDataItem(pen=edge)
        fc.setAlpha(40)
        self.fan95 = pg.FillBetweenItem(self.lo95, self.hi95, brush=pg.mkBrush(fc))
        fc = pg.mkColor(FORECAST_COLOR)
        fc.setAlpha(80)
        self.fan80 = pg.FillBetweenItem(self.lo80, self.hi80, brush=pg.mkBrush(fc))
        for item in (self.hi95, self.lo95, self.hi80, self.lo80, self.fan95, self.fan80):
            self.plot.addItem(item)
        self.history = self.plot.plot(name="history")
        # in the legend only while a backtest is drawn (set_backtest), with its method's name
        self.backtest = self.plot.plot(pen=pg.mkPen(BACKTEST_COLOR, width=1.5), connect="finite")
        self.mean = self.plot.plot(name="forecast", pen=pg.mkPen(FORECAST_COLOR, width=2.2))
        # a FillBetweenItem in a legend crashes pyqtgraph 0.14's ItemSample: show filled stand-ins
        self._fan_samples = []
        for fan, label in ((self.fan80, "80% interval"), (self.fan95, "95% interval")):
            sample = pg.PlotDataItem([0, 1], [1, 1], pen=pg.mkPen(None), fillLevel=0, brush=fan.brush())
            self._fan_samples.append(sample)
            self.legend.addItem(sample, label)
        self.split = pg.InfiniteLine(angle=90, movable=False)
        self.plot.addItem(self.split)
        self.split.hide()
        self._fan_items = (self.fan80, self.fan95)
        self.set_dated(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self.retheme()
        self.clear()

    # ------------------------------------------------------------------ theme
    def retheme(self) -> None:
        """Take the colours of the theme in use (pyqtgraph does not follow Qt's palette); called by
        theme.retheme after a theme change."""
        pg, c = self._pg, theme.current_colors()
        self.widget.setBackground(c["pane"])
        for side in ("left", "bottom"):
            ax = self.plot.getAxis(side)
            ax.setPen(pg.mkPen(c["border"]))
            ax.setTextPen(pg.mkPen(c["muted"]))
        self.legend.setLabelTextColor(c["text"])
        self.legend.setBrush(pg.mkBrush(c["surface"] + "d0"))
        self.history.setPen(pg.mkPen(history_color(c), width=1.5))
        self.split.setPen(pg.mkPen(c["muted"], width=1, dash=[4, 4]))
        if self._title:
            self.widget.setTitle(self._title, color=c["muted"], size="10pt")

    # ------------------------------------------------------------------ data
    def set_dated(self, dated: bool) -> None:
        """Dates on the x axis (POSIX seconds) or row numbers."""
        self.dated = dated
        self.date_axis.dated = dated
        self.date_axis.picture = None
        self.date_axis.update()

    def set_history(self, x: list, y: list, dated: bool, label: str = "") -> None:
        if dated != self.dated:
            self.set_dated(dated)
        self.history.setData(_arr(x), _arr(y))
        self._show_values(bool(x))
        self.plot.setLabel("left", label_html(label))
        self.split.setValue(x[-1] if x else 0)
        self.split.setVisible(bool(x))
        self.place_legend()

    def set_forecast(self, result: dict) -> None:
        """Forecast line and fan, starting at the last history point so the lines join."""
        x0, y0 = result["x"][-1:], result["y"][-1:]
        fx = _arr(x0 + list(result["fx"]))
        self.mean.setData(fx, _arr(y0 + list(result["mean"])))
        # the fans are filled polygons, repainted on every resize and pan: a 10,000-step fan took
        # 4 s a repaint (29 s to export); at most FAN_POINTS vertices per edge draw the same band
        step = max(1, math.ceil(len(fx) / FAN_POINTS))
        keep = list(range(0, len(fx), step))
        if keep[-1] != len(fx) - 1:
            keep.append(len(fx) - 1)
        for key in ("lo80", "hi80", "lo95", "hi95"):
            band = _arr(y0 + list(result[key]))
            getattr(self, key).setData(fx[keep], band[keep])
        for item in self._fan_items:
            item.setVisible(True)
        self._title = label_html(_title(result), limit=None)
        self.widget.setTitle(self._title, color=theme.current_colors()["muted"], size="10pt")
        self.place_legend()

    def set_backtest(self, x: list, y: list, label: str = "backtest") -> None:
        """Draw backtest forecasts, named ``label`` in the legend (no entry when there are none)."""
        self.backtest.setData(_arr(x), _arr(y), connect="finite")
        self.legend.removeItem(self.backtest)
        if len(x):
            self.legend.addItem(self.backtest, label_html(label))
        self.place_legend()

    def place_legend(self) -> None:
        """Stand the legend in the corner of the data's extent with the fewest points under it (it
        stood top left and covered a falling series' start)."""
        import numpy as np

        xs, ys = [], []
        for curve in (self.history, self.mean, self.hi95, self.lo95, self.backtest):
            x, y = curve.getData()
            if x is not None and len(x) and curve.isVisible():
                xs.append(np.asarray(x, dtype=float))
                ys.append(np.asarray(y, dtype=float))
        corner = "top-left"
        if xs:
            x, y = np.concatenate(xs), np.concatenate(ys)
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
        if xs and len(x):
            span_x, span_y = np.ptp(x) or 1.0, np.ptp(y) or 1.0
            u, v = (x - x.min()) / span_x, (y - y.min()) / span_y  # 0…1, v up
            fw, fh = self._legend_share()
            counts = {
                "top-left": np.count_nonzero((u <= fw) & (v >= 1 - fh)),
                "top-right": np.count_nonzero((u >= 1 - fw) & (v >= 1 - fh)),
                "bottom-left": np.count_nonzero((u <= fw) & (v <= fh)),
                "bottom-right": np.count_nonzero((u >= 1 - fw) & (v <= fh)),
            }
            corner = min(CORNERS, key=lambda name: counts[name])  # ties: the earlier corner
        if corner != self.legend_corner:
            anchor, (sx, sy) = CORNERS[corner]
            self.legend.anchor(
                itemPos=anchor, parentPos=anchor, offset=(sx * LEGEND_MARGIN[0], sy * LEGEND_MARGIN[1])
            )
            self.legend_corner = corner

    def _legend_share(self) -> tuple[float, float]:
        """The legend's width and height as shares of the plot area (a guess before it is shown)."""
        view = self.plot.getViewBox().boundingRect()
        box = self.legend.boundingRect()
        if view.width() < 50 or view.height() < 50 or box.width() <= 0:
            return 0.3, 0.3
        pad_x, pad_y = LEGEND_MARGIN[0] / view.width(), LEGEND_MARGIN[1] / view.height()
        return (
            min(0.5, box.width() / view.width() + pad_x),
            min(0.5, box.height() / view.height() + pad_y),
        )

    def legend_labels(self) -> list[str]:
        return [html.unescape(label.text) for _, label in self.legend.items]  # as shown

    def show_backtest(self, on: bool) -> None:
        self.backtest.setVisible(on)
        self.place_legend()

    def clear_forecast(self) -> None:
        for curve in (self.mean, self.lo80, self.hi80, self.lo95, self.hi95, self.backtest):
            curve.setData([], [])
        self.legend.removeItem(self.backtest)
        for item in self._fan_items:
            item.setVisible(False)
        self._title = ""
        self.widget.setTitle(None)
        self.place_legend()

    def clear(self) -> None:
        self.history.setData([], [])
        self.split.hide()
        self.clear_forecast()
        self._show_values(False)

    def _show_values(self, on: bool) -> None:
        """No tick values on an empty plot (its x axis read "00.100 00.200 …": seconds of 1970)."""
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setStyle(showValues=on)

    def fit_view(self) -> None:
        self.plot.enableAutoRange()

    def has_forecast(self) -> bool:
        x, _ = self.mean.getData()
        return x is not None and len(x) > 1

    def export_png(self, path: str, width: int = 1600) -> str:
        """Write the plot to ``path`` (".png" added when it has no extension); the path written.
        ValueError for a name that is not an image type Qt writes ("plot.csv"); OSError when nothing
        could be written (pyqtgraph only returns False then)."""
        from pathlib import Path

        from pyqtgraph.exporters import ImageExporter

        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".png")
        kinds = {bytes(f.data()).decode().lower() for f in QImageWriter.supportedImageFormats()}
        if target.suffix[1:].lower() not in kinds:
            raise ValueError(f"'{target.suffix}' is not an image type; name the file with .png at the end")
        if not target.parent.is_dir():
            raise OSError(f"no folder {target.parent}")
        exporter = ImageExporter(self.plot)
        exporter.parameters()["width"] = width
        image = exporter.export(toBytes=True)  # rendered in memory, then written whole: a failed
        buf = QBuffer()  # write (a full disk) used to leave a broken PNG over the earlier one
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        if not isinstance(image, QImage) or not image.save(buf, target.suffix[1:].upper()):
            raise OSError("the image could not be drawn")
        write_whole(target, bytes(buf.data()), private=False)
        return str(target)


def label_html(text: str, limit: int | None = MAX_LABEL_CHARS) -> str:
    """``text`` for a pyqtgraph label, which reads HTML: a column "temp<5 & rain>3" showed "temp3"
    and "<b>sales</b>" bold. Escaped, and elided with "…" past ``limit`` characters (a 300-character
    name filled the plot's left edge)."""
    return html.escape(_elide(str(text), limit), quote=False)


def _elide(text: str, limit: int | None = MAX_LABEL_CHARS) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


def history_color(c: dict) -> str:
    """The history line's colour for the theme colours ``c``: a lighter grey on a dark pane."""
    return HISTORY_COLOR_DARK if _luminance(c["pane"]) < 0.2 else HISTORY_COLOR


def _luminance(color: str) -> float:
    """WCAG relative luminance of "#rrggbb" (0 black … 1 white)."""
    rgb = [int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _axis_class(pg):
    """A date axis that shows plain numbers while ``dated`` is False (swapping axis items in a live
    plot deletes the old one under pyqtgraph's feet)."""

    class XAxis(pg.DateAxisItem):
        dated = True

        def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph override)
            if self.dated:
                return super().tickValues(minVal, maxVal, size)
            return pg.AxisItem.tickValues(self, minVal, maxVal, size)

        def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph override)
            if self.dated:
                return super().tickStrings(values, scale, spacing)
            return pg.AxisItem.tickStrings(self, values, scale, spacing)

        def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph override)
            if self.dated:
                return super().generateDrawSpecs(p)
            return pg.AxisItem.generateDrawSpecs(self, p)

    return XAxis


def _arr(values):
    import numpy as np

    return np.asarray([math.nan if v is None else v for v in values], dtype=float)


def _title(result: dict) -> str:
    method = result.get("method", "")
    if method == "auto" and result.get("chosen"):
        method = f"auto → {' + '.join(result['chosen'])}"
    name = _elide(str(result.get("name", "")))
    return f"{name}: {result.get('horizon', 0)}-step forecast · {method}"
