"""``main.py --screenshot``: renders the window with a demo conversation to a PNG and exits.

Run in a subprocess (as a user runs it): the command ends the Qt application when it is done.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

HERE = Path(__file__).resolve().parent
SCRIPT = """
import sys
sys.path[:0] = [{root!r}, {here!r}]
import fakes
from desktop.app import run
sys.exit(run(["--screenshot", {out!r}, "--size", "1280x800", "--theme", "dark"],
             bot_loader=fakes.loader(script="A *demo* reply."), model_finder=fakes.finder("demo-bot"),
             device_probe=fakes.probe))
"""


def test_screenshot_writes_a_png_of_the_window(qapp, tmp_path):
    out = tmp_path / "shot.png"
    code = SCRIPT.format(root=str(HERE.parents[1]), here=str(HERE), out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"screenshot: {out}" in done.stdout
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)
    rail = image.pixelColor(5, image.height() // 2)  # the navigation rail, dark theme
    assert rail.lightness() < 60


FAILING_DEMO = """
import sys
sys.path[:0] = [{root!r}, {here!r}]
import fakes
import desktop.views.caption as caption

def broken(panel):
    raise ValueError("The caption model is missing")

caption.demo = broken
from desktop.app import run
sys.exit(run(["--screenshot", {out!r}, "--panel", "caption"],
             bot_loader=fakes.loader(), model_finder=fakes.finder("demo-bot"), device_probe=fakes.probe))
"""


def test_a_panel_whose_demo_fails_is_still_shot_and_the_command_ends(qapp, tmp_path):
    """Without the shipped captioner the command printed a traceback and never ended (bug hunt)."""
    out = tmp_path / "caption.png"
    code = FAILING_DEMO.format(root=str(HERE.parents[1]), here=str(HERE), out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    assert "demo content failed: The caption model is missing" in done.stderr


def test_a_screenshot_into_a_folder_that_cannot_be_made_says_so_and_ends(qapp, tmp_path):
    """The folder's mkdir raised inside a Qt slot, so the command never quit (bug hunt, finding 8).
    A file where the folder should be: it cannot be made, even as root."""
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "sub" / "shot.png"
    code = SCRIPT.format(root=str(HERE.parents[1]), here=str(HERE), out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert f"screenshot: could not write {out} (" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
