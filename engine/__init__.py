"""Parlance engine: recurrent models, text tools, training and the history store.

This package never imports Qt (PySide6), pyqtgraph or ``desktop``; a test enforces it.
Heavy libraries (torch, gensim) are imported by the modules that need them, never here,
so ``python -m engine summarize`` with TextRank starts without torch.
"""

__version__ = "0.1.0"
