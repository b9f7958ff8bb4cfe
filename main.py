"""Parlance desktop app. ``python main.py --help`` lists the options.

This file stays tiny on purpose: the window must be on screen before torch is imported, so
nothing heavy happens here (see desktop/app.py).
"""

import sys

from desktop.app import run

if __name__ == "__main__":
    sys.exit(run())
