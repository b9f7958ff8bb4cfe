"""Recurrent layers: cells (``cells``), the sequence runner (``recurrent``), attention (``attention``)."""

from engine.nn.attention import SCORES, Attention, LuongOutput
from engine.nn.cells import CELLS, is_lstm_like, make_cell
from engine.nn.recurrent import Recurrent

__all__ = ["CELLS", "SCORES", "Attention", "LuongOutput", "Recurrent", "is_lstm_like", "make_cell"]
