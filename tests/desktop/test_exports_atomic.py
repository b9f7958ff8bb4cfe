"""Exports written whole or not at all (bug hunt on the file system, finding 5): the summary,
caption and forecast exports and the plot PNG truncated the earlier file first, so a full disk
destroyed it and left half a new one (a 0-byte file for a new name). A full disk is simulated:
every file opened for writing takes half of what is written, then raises ENOSPC; Qt's own
``QImage.save(file name)`` writes half and returns False, as it does on a full disk."""

from __future__ import annotations

import builtins
import contextlib
import errno
import io

import pytest

from desktop import caption_export, forecast_ops
from desktop.summarize_ops import default_settings, summarize_text, write_export

TEXT = "The walrus went to sea. It came back later. Then it slept all day long. It woke at dusk."
OLD = "the earlier export, which must survive\n"


class _Full:
    """A file that takes half of a write, then says the disk is full."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


@contextlib.contextmanager
def full_disk(monkeypatch, folder):
    real_open = io.open

    def fake(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        inside = isinstance(file, int) or str(file).startswith(str(folder))
        return _Full(fh) if inside and any(c in mode for c in "wax+") else fh

    with monkeypatch.context() as m:
        m.setattr(io, "open", fake)
        m.setattr(builtins, "open", fake)
        yield


def _exports(folder):
    return sorted(p.name for p in folder.iterdir())


def _summary():
    return summarize_text(TEXT, default_settings())


def _forecast():
    return {"index": [1, 2, 3], "dated": False} | {k: [1.0, 2.0, 3.0] for k in forecast_ops.BANDS}


CAPTIONS = [
    {"name": "a.jpg", "path": "/x/a.jpg", "media": "image", "caption": "a dog on a beach"}
    | {"logprob": -1.5, "sha256": "ab" * 32, "beam": 3, "alternatives": []}
]

WRITERS = {
    "summary-md": lambda p: write_export(str(p), _summary(), "md"),
    "summary-json": lambda p: write_export(str(p), _summary(), "json"),
    "captions-csv": lambda p: caption_export.write_export(str(p), CAPTIONS, "csv"),
    "captions-json": lambda p: caption_export.write_export(str(p), CAPTIONS, "json"),
    "forecast-csv": lambda p: forecast_ops.write_forecast_csv(str(p), _forecast()),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_an_export_on_a_full_disk_keeps_the_earlier_file(kind, tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text(OLD)
    with full_disk(monkeypatch, tmp_path), pytest.raises(OSError) as err:
        WRITERS[kind](target)
    assert err.value.errno == errno.ENOSPC
    assert target.read_text() == OLD and _exports(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_an_export_to_a_new_name_on_a_full_disk_leaves_nothing(kind, tmp_path, monkeypatch):
    with full_disk(monkeypatch, tmp_path), pytest.raises(OSError):
        WRITERS[kind](tmp_path / "new.txt")
    assert _exports(tmp_path) == []


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_an_export_still_writes_and_keeps_the_file_mode(kind, tmp_path):
    target = tmp_path / "out.txt"
    target.write_text(OLD)
    target.chmod(0o640)
    WRITERS[kind](target)
    assert target.read_text() != OLD and (target.stat().st_mode & 0o777) == 0o640
    assert _exports(tmp_path) == ["out.txt"]


def test_csv_exports_keep_their_line_ends(tmp_path):
    caption_export.write_export(str(tmp_path / "c.csv"), CAPTIONS, "csv")
    forecast_ops.write_forecast_csv(str(tmp_path / "f"), _forecast())  # ".csv" added
    assert (tmp_path / "c.csv").read_bytes().count(b"\r\n") == 2
    assert (tmp_path / "f.csv").read_bytes().startswith(b"step,index,mean,lo80,hi80,lo95,hi95\r\n1,1,")


@pytest.fixture
def plot(qtbot):
    from desktop.widgets.forecast_plot import ForecastPlot

    widget = ForecastPlot()
    qtbot.addWidget(widget)
    widget.resize(640, 400)
    widget.set_history([0, 1, 2, 3], [1.0, 3.0, 2.0, 4.0], dated=False, label="value")
    widget.show()
    return widget


def _qt_full_disk(monkeypatch):
    """``QImage.save`` onto a file name: half a PNG and False, as on a full disk."""
    from PySide6.QtGui import QImage

    real_save = QImage.save

    def save(self, target, *args, **kwargs):
        if isinstance(target, str):
            buf = io.BytesIO()
            from PySide6.QtCore import QBuffer, QIODevice

            qbuf = QBuffer()
            qbuf.open(QIODevice.OpenModeFlag.WriteOnly)
            real_save(self, qbuf, "PNG")
            buf.write(bytes(qbuf.data()))
            with builtins.open(target, "wb") as fh:  # builtins.open is patched: half, then ENOSPC
                fh.write(buf.getvalue())
            return False
        return real_save(self, target, *args, **kwargs)

    monkeypatch.setattr(QImage, "save", save)


def test_a_plot_export_on_a_full_disk_keeps_the_earlier_png(plot, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage

    old = tmp_path / "old.png"
    plot.export_png(str(old), width=320)
    before = old.read_bytes()
    _qt_full_disk(monkeypatch)
    plot.set_history([0, 1, 2, 3, 4], [5.0, 1.0, 2.0, 4.0, 9.0], dated=False, label="value")
    with full_disk(monkeypatch, tmp_path), pytest.raises(OSError):
        plot.export_png(str(old), width=640)
    assert old.read_bytes() == before and not QImage(str(old)).isNull()
    assert _exports(tmp_path) == ["old.png"]
    with full_disk(monkeypatch, tmp_path), pytest.raises(OSError):
        plot.export_png(str(tmp_path / "new.png"))
    assert _exports(tmp_path) == ["old.png"]  # no 0-byte or half new.png


def test_a_plot_export_writes_a_png_through_a_symlink(plot, tmp_path):
    from PySide6.QtGui import QImage

    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "plot.png"
    link = tmp_path / "link.png"
    link.symlink_to(real)
    assert plot.export_png(str(link), width=300) == str(link)
    assert link.is_symlink() and QImage(str(real)).width() == 300
