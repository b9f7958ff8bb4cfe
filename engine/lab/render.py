"""Plain numpy -> PIL pictures for the CLI's ``--png``: line plots, heat maps, labelled scatters.

No Qt, no matplotlib: axes, ticks and labels are drawn with ``PIL.ImageDraw`` and its default
font. Good enough to see a curve or a gate map from a terminal; the app draws with pyqtgraph.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
# viridis, sampled at 0, .25, .5, .75, 1
VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)
W, H, MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 720, 420, 70, 150, 36, 46


def _image(width: int, height: int):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    return img, ImageDraw.Draw(img)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _fmt(v: float) -> str:
    return f"{v:.0e}" if v and (abs(v) < 1e-2 or abs(v) >= 1e4) else f"{v:.3g}"


def line_plot(
    path: str | os.PathLike,
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    log_y: bool = False,
    y_range: tuple[float, float] | None = None,
) -> None:
    """Write a PNG with one line (and dots) per named series of (xs, ys)."""
    img, d = _image(W, H)
    pts = {k: (np.asarray(x, float), np.asarray(y, float)) for k, (x, y) in series.items() if len(x)}
    if log_y:
        pts = {k: (x, np.log10(np.maximum(y, 1e-30))) for k, (x, y) in pts.items()}
    xs = np.concatenate([x for x, _ in pts.values()]) if pts else np.array([0.0, 1.0])
    ys = np.concatenate([y for _, y in pts.values()]) if pts else np.array([0.0, 1.0])
    ys = ys[np.isfinite(ys)] if np.isfinite(ys).any() else np.array([0.0, 1.0])
    x0, x1 = float(xs.min()), float(xs.max()) or 1.0
    y0, y1 = y_range if y_range else (float(ys.min()), float(ys.max()))
    if x1 <= x0:
        x1 = x0 + 1
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pw, ph = W - MARGIN_L - MARGIN_R, H - MARGIN_T - MARGIN_B

    def to_px(x: float, y: float) -> tuple[float, float]:
        return MARGIN_L + (x - x0) / (x1 - x0) * pw, MARGIN_T + (1 - (y - y0) / (y1 - y0)) * ph

    d.rectangle([MARGIN_L, MARGIN_T, MARGIN_L + pw, MARGIN_T + ph], outline="#888888")
    for t in _ticks(y0, y1):
        _, py = to_px(x0, t)
        d.line([MARGIN_L - 4, py, MARGIN_L, py], fill="#444444")
        d.text((4, py - 6), _fmt(10**t) if log_y else _fmt(t), fill="#222222")
    for t in _ticks(x0, x1):
        px, _ = to_px(t, y0)
        d.line([px, MARGIN_T + ph, px, MARGIN_T + ph + 4], fill="#444444")
        d.text((px - 10, MARGIN_T + ph + 8), _fmt(t), fill="#222222")
    for i, (name, (x, y)) in enumerate(pts.items()):
        color = PALETTE[i % len(PALETTE)]
        line = [to_px(a, b) for a, b in zip(x, y) if math.isfinite(b)]
        if len(line) > 1:
            d.line(line, fill=color, width=2)
        for px, py in line:
            d.ellipse([px - 2, py - 2, px + 2, py + 2], fill=color)
        ly = MARGIN_T + 6 + 16 * i
        d.line([W - MARGIN_R + 10, ly + 6, W - MARGIN_R + 28, ly + 6], fill=color, width=3)
        d.text((W - MARGIN_R + 32, ly), name[:18], fill="#222222")
    d.text((MARGIN_L, 10), title, fill="#000000")
    d.text((MARGIN_L + pw // 2 - 3 * len(xlabel), H - 18), xlabel, fill="#222222")
    d.text((4, MARGIN_T - 16), ylabel + (" (log)" if log_y else ""), fill="#222222")
    img.save(path, format="PNG")


def colormap(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(R, C) values -> (R, C, 3) uint8 viridis colours, ``lo``..``hi`` spanning the map."""
    t = np.clip((np.asarray(values, float) - lo) / ((hi - lo) or 1.0), 0.0, 1.0) * (len(VIRIDIS) - 1)
    i = np.minimum(t.astype(int), len(VIRIDIS) - 2)
    f = (t - i)[..., None]
    return (VIRIDIS[i] * (1 - f) + VIRIDIS[i + 1] * f).astype(np.uint8)


def heatmaps(
    path: str | os.PathLike,
    maps: dict[str, np.ndarray],
    col_labels: Sequence[str] = (),
    title: str = "",
    cell_px: int = 14,
) -> None:
    """Write a PNG with one heat map per name, stacked; each map is (rows, columns) = (units, time)."""
    from PIL import Image

    cols = max((m.shape[1] for m in maps.values()), default=1)
    scale = max(2, min(cell_px, 900 // max(cols, 1)))
    width = 110 + cols * scale + 20
    height = 30 + sum(m.shape[0] * scale + 28 for m in maps.values()) + 40
    img, d = _image(width, max(height, 80))
    d.text((10, 8), title, fill="#000000")
    y = 30
    for name, m in maps.items():
        m = np.asarray(m, float)
        lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
        if lo >= 0.0 and hi <= 1.0:
            lo, hi = 0.0, 1.0  # gates: a fixed [0, 1] scale, comparable across maps
        rgb = colormap(m, lo, hi)
        tile = Image.fromarray(rgb, "RGB").resize((m.shape[1] * scale, m.shape[0] * scale), Image.NEAREST)
        d.text((10, y + 4), name, fill="#000000")
        d.text((10, y + 16), f"{_fmt(lo)}..{_fmt(hi)}", fill="#555555")
        img.paste(tile, (110, y))
        y += m.shape[0] * scale + 28
    for j, label in enumerate(col_labels[:cols]):
        if scale >= 10:
            d.text((110 + j * scale, y - 4 + (j % 2) * 12), str(label)[:3], fill="#222222")
    img.save(path, format="PNG")


def scatter(
    path: str | os.PathLike, xy: Sequence[Sequence[float]], labels: Sequence[str], title: str = ""
) -> None:
    """Write a PNG of labelled points (a 2-D projection)."""
    img, d = _image(W, H)
    pts = np.asarray(xy, float).reshape(-1, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    d.rectangle([MARGIN_L, MARGIN_T, W - 40, H - MARGIN_B], outline="#888888")
    for (x, y), label in zip(pts, labels):
        px = MARGIN_L + 10 + (x - lo[0]) / span[0] * (W - 40 - MARGIN_L - 60)
        py = MARGIN_T + 10 + (1 - (y - lo[1]) / span[1]) * (H - MARGIN_B - MARGIN_T - 20)
        d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=PALETTE[0])
        d.text((px + 5, py - 6), label, fill="#222222")
    d.text((MARGIN_L, 10), title, fill="#000000")
    img.save(path, format="PNG")
