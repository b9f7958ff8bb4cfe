"""A picture with the attention map of one caption word drawn over it.

The captioner looks at a 7x7 grid of regions of the (squashed) image for every word it writes.
:func:`upsample` turns such a grid into a smooth map (bilinear between the cell centres, so there
are no blocks), :func:`heat_image` colours it (dark and clear where the model did not look, warm
and bright where it did, semi-transparent) and :class:`AttentionImage` paints the picture, aspect
ratio kept, with the map stretched over exactly the picture's rectangle: the encoder saw the image
squashed to a square, so each grid cell covers the same fraction of the picture either way.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop import theme

UPSAMPLE = 24  # map pixels per grid cell
MAX_HEIGHT = 620  # tallest the picture is drawn
# colour stops of the heat map: weight -> (r, g, b, alpha)
# weights are scaled from the map's lowest (0) to its highest (1) value: where the model hardly looked
# the picture is darkened, where it looked most it shows through with a warm glow
STOPS = (
    (0.0, (10, 10, 35, 175)),
    (0.45, (110, 30, 110, 120)),
    (0.8, (245, 120, 40, 70)),
    (1.0, (255, 235, 130, 40)),
)


def upsample(att: np.ndarray, factor: int = UPSAMPLE) -> np.ndarray:
    """A ``(gh, gw)`` map -> ``(gh * factor, gw * factor)`` float32, bilinear between cell centres
    (edges held flat). The maximum stays at the centre of the largest cell."""
    att = np.asarray(att, dtype=np.float32)
    gh, gw = att.shape

    def axis(n: int, g: int):
        pos = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, g - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, g - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, wy = axis(gh, gh)
    x0, x1, wx = axis(gw, gw)
    rows = att[y0] * (1 - wy)[:, None] + att[y1] * wy[:, None]  # (H, gw)
    return rows[:, x0] * (1 - wx)[None, :] + rows[:, x1] * wx[None, :]  # (H, W)


def heat_rgba(weights: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] ``(H, W)`` -> RGBA ``uint8`` ``(H, W, 4)`` along STOPS."""
    w = np.clip(weights, 0.0, 1.0)
    xs = np.array([s for s, _ in STOPS], dtype=np.float32)
    cols = np.array([c for _, c in STOPS], dtype=np.float32)  # (n, 4)
    out = np.stack([np.interp(w, xs, cols[:, k]) for k in range(4)], axis=-1)
    return np.ascontiguousarray(out.round().astype(np.uint8))


def to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB (or RGBA) ``uint8`` array -> a QImage that owns its pixels."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, c = arr.shape
    fmt = QImage.Format.Format_RGBA8888 if c == 4 else QImage.Format.Format_RGB888
    return QImage(arr.data, w, h, c * w, fmt).copy()


def jpeg_qimage(data: bytes | None) -> QImage | None:
    if not data:
        return None
    image = QImage.fromData(data, "JPEG")
    return None if image.isNull() else image


class AttentionImage(QWidget):
    """The shown picture; ``set_attention(map)`` draws a word's map over it, ``None`` removes it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 180)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.pixmap: QPixmap | None = None
        self.placeholder = ""
        self.attention: np.ndarray | None = None  # the (7, 7) map shown, as the model gave it
        self.weights: np.ndarray | None = None  # its smooth upsampled version, scaled to 0..1
        self.overlay: QImage | None = None  # what is painted over the picture

    def sizeHint(self) -> QSize:
        return QSize(480, self.heightForWidth(480))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """As tall as the picture needs at this width (a 4:3 box while there is none)."""
        pw, ph = (self.pixmap.width(), self.pixmap.height()) if self.pixmap is not None else (4, 3)
        return max(180, min(MAX_HEIGHT, round(width * ph / max(pw, 1))))

    def set_image(self, image: QImage | None, placeholder: str = "") -> None:
        self.pixmap = None if image is None or image.isNull() else QPixmap.fromImage(image)
        self.placeholder = placeholder
        self.updateGeometry()
        self.set_attention(None)

    def set_attention(self, att: np.ndarray | None) -> None:
        if att is None or np.asarray(att).size == 0:
            self.attention = self.weights = self.overlay = None
        else:
            self.attention = np.asarray(att, dtype=np.float32)
            up = upsample(self.attention)
            lo, hi = float(up.min()), float(up.max())
            self.weights = (up - lo) / (hi - lo) if hi - lo > 1e-9 else np.full_like(up, 0.5)
            self.overlay = to_qimage(heat_rgba(self.weights))
        self.update()

    def image_rect(self) -> QRectF:
        """Where the picture is painted: centred, aspect ratio kept."""
        area = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        if self.pixmap is None:
            return area
        pw, ph = self.pixmap.width(), self.pixmap.height()
        scale = min(area.width() / max(pw, 1), area.height() / max(ph, 1))
        w, h = pw * scale, ph * scale
        return QRectF(area.center().x() - w / 2, area.center().y() - h / 2, w, h)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        c = theme.current_colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        if self.pixmap is None:
            p.setPen(QColor(c["border"]))
            p.setBrush(QColor(c["surface"]))
            p.drawRoundedRect(frame, 10, 10)
            p.setPen(QColor(c["muted"]))
            p.drawText(frame, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.placeholder)
            return
        target = self.image_rect()
        clip = QPainterPath()
        clip.addRoundedRect(target, 8, 8)
        p.setClipPath(clip)
        p.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))
        if self.overlay is not None:
            p.drawImage(target, self.overlay, QRectF(self.overlay.rect()))
