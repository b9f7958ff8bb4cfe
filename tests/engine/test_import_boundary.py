"""DESIGN rule 1: the engine never imports Qt, pyqtgraph or desktop/ — checked in a fresh process."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import importlib, pkgutil, sys
import engine
names = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "desktop", "shiboken6"))
print(len(names), "modules;", "GUI modules loaded:", bad)
sys.exit(1 if bad else 0)
"""


def test_engine_never_loads_gui_modules():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert int(proc.stdout.split()[0]) > 20  # it really walked the package


def test_cli_help_does_not_import_torch():
    code = "import sys; from engine.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"


def test_a_statistical_forecast_from_the_cli_does_not_import_torch(tmp_path):
    """Only the networks need torch (a second and a few hundred MB): naive, ETS … from the CLI,
    and their backtest, run without it."""
    path = tmp_path / "s.csv"
    path.write_text("v\n" + "\n".join(str(10 + (i % 7)) for i in range(60)) + "\n")
    code = (
        "import sys; from engine.cli import main; "
        f"main(['forecast', '--csv', {str(path)!r}, '--horizon', '3', '--method', 'naive', '--json']); "
        f"main(['eval', 'forecast', '--csv', {str(path)!r}, '--horizon', '3', '--methods', 'naive,drift']); "
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == "False"
