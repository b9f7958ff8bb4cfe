"""Synthetic sequence tasks that show why gates matter; each one is a generator (no data needed).

* ``parity``: the lecture's "output YES if the number of 1s is even" — bits in (as +1 / -1), one
  label at the end (class 1 = YES). A single flipped bit anywhere flips the answer, so the whole
  sequence matters; with one label per sequence it is hard for every cell beyond a few bits (a
  long plateau at chance), which is itself the lecture's point about credit assignment.
* ``adding``: the adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): two channels,
  random values and a marker with two 1s (one in each half); the target is the sum of the two
  marked values. Regression; "accurate" means within ``tolerance`` of the answer.
* ``copy``: the copy-memory task: ``symbols`` random symbols, blanks, a delimiter, then the model
  must output the symbols in order. Targets exist only at the last ``symbols`` steps.

A task samples ``(x, y)``: ``x`` ``(B, T, I)`` float; ``y`` ``(B,)`` long (parity), ``(B,)`` float
(adding) or ``(B, T)`` long with ``IGNORE`` at steps without a target (copy). Models give a task
``pred`` from their outputs: ``(B, O)`` from the last step for ``many_to_one`` tasks, ``(B, T, O)``
otherwise. ``TASKS`` is the registry; :func:`make_task` raises ``ValueError`` for unknown names.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE = -100  # target at steps the copy task does not score (cross_entropy's ignore_index)


MAX_LENGTH = 10_000  # the longest sequence a lab task trains on


class Task:
    name = ""
    input_size = 1  # I: features per time step
    output_size = 1  # O: logits (classification) or values (regression) per prediction
    many_to_one = True  # one prediction from the last step (False: one per step)
    chance = 0.0  # accuracy of a model that ignores its input

    def min_length(self) -> int:
        return 1

    def check_length(self, length: int) -> None:
        if length < self.min_length():
            raise ValueError(
                f"{self.name}: sequence length must be at least {self.min_length()}, got {length}"
            )
        if length > MAX_LENGTH:  # (a batch of 64 x 10,000 steps is already minutes per point)
            raise ValueError(f"{self.name}: sequence length must be at most {MAX_LENGTH:,}, got {length:,}")

    def sample(self, batch: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def score(self, pred: Tensor, y: Tensor) -> tuple[int, int]:
        """(correct, counted) predictions."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class ParityTask(Task):
    """Bits in; class 1 (YES) when the number of 1s is even, class 0 (NO) when it is odd."""

    name = "parity"
    input_size = 1
    output_size = 2
    chance = 0.5

    def sample(self, batch: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        self.check_length(length)
        bits = torch.randint(0, 2, (batch, length), generator=generator)  # (B, T)
        return self.encode(bits), self.label(bits)

    @staticmethod
    def encode(bits: Tensor) -> Tensor:
        return (2.0 * bits.float() - 1.0).unsqueeze(-1)  # (B, T, 1): 1 -> +1, 0 -> -1

    @staticmethod
    def label(bits: Tensor) -> Tensor:
        return (bits.sum(dim=1) % 2 == 0).long()  # (B,) 1 = YES: even number of 1s

    @staticmethod
    def from_string(text: str) -> Tensor:
        """``"1000010101"`` -> bits ``(1, T)``; anything but 0/1 raises ``ValueError``."""
        text = text.strip()
        if not text or set(text) - {"0", "1"}:
            raise ValueError(f"a parity input is a string of 0s and 1s, got {text!r}")
        return torch.tensor([[int(c) for c in text]])

    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(pred.float(), y)

    def score(self, pred: Tensor, y: Tensor) -> tuple[int, int]:
        return int((pred.argmax(-1) == y).sum()), int(y.numel())


class AddingTask(Task):
    """Values in [0, 1] and a 0/1 marker channel with two marks; target: the sum of the marked values."""

    name = "adding"
    input_size = 2
    output_size = 1

    def __init__(self, tolerance: float = 0.1):
        if tolerance <= 0:
            raise ValueError(f"tolerance must be positive, got {tolerance}")
        self.tolerance = tolerance
        # predicting the mean (1.0) is within tolerance when |a + b - 1| < tol: P = 2 tol - tol^2
        self.chance = 2 * tolerance - tolerance**2 if tolerance < 1 else 1.0

    def min_length(self) -> int:
        return 2

    def sample(self, batch: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        self.check_length(length)
        values = torch.rand(batch, length, generator=generator)  # (B, T)
        half = length // 2
        first = torch.randint(0, half, (batch,), generator=generator)
        second = torch.randint(half, length, (batch,), generator=generator)
        marks = torch.zeros(batch, length)
        rows = torch.arange(batch)
        marks[rows, first] = 1.0
        marks[rows, second] = 1.0
        x = torch.stack([values, marks], dim=-1)  # (B, T, 2)
        return x, (values * marks).sum(dim=1)  # (B,)

    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(pred.float().squeeze(-1), y)

    def score(self, pred: Tensor, y: Tensor) -> tuple[int, int]:
        return int(((pred.squeeze(-1) - y).abs() < self.tolerance).sum()), int(y.numel())

    def describe(self) -> str:
        return f"adding (within ±{self.tolerance:g})"


class CopyTask(Task):
    """``symbols`` data symbols, blanks, a delimiter; recall the symbols over the last steps.

    Input one-hot over ``alphabet + 2`` codes: 0 blank, 1..alphabet data, alphabet+1 delimiter.
    Layout of a length-T sequence: symbols at t < S, delimiter at t = T-S-1, targets at t >= T-S.
    """

    name = "copy"
    many_to_one = False

    def __init__(self, symbols: int = 3, alphabet: int = 4):
        if symbols < 1 or alphabet < 2:
            raise ValueError(f"copy needs symbols >= 1 and alphabet >= 2, got {symbols}, {alphabet}")
        self.symbols = symbols
        self.alphabet = alphabet
        self.input_size = alphabet + 2
        self.output_size = alphabet
        self.chance = 1.0 / alphabet

    def min_length(self) -> int:
        return 2 * self.symbols + 1

    def sample(self, batch: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        self.check_length(length)
        s = self.symbols
        data = torch.randint(0, self.alphabet, (batch, s), generator=generator)  # (B, S) classes
        codes = torch.zeros(batch, length, dtype=torch.long)  # (B, T) 0 = blank
        codes[:, :s] = data + 1
        codes[:, length - s - 1] = self.alphabet + 1
        x = F.one_hot(codes, self.input_size).float()  # (B, T, A+2)
        y = torch.full((batch, length), IGNORE, dtype=torch.long)
        y[:, length - s :] = data
        return x, y

    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(pred.float().reshape(-1, self.output_size), y.reshape(-1), ignore_index=IGNORE)

    def score(self, pred: Tensor, y: Tensor) -> tuple[int, int]:
        keep = y != IGNORE
        return int((pred.argmax(-1) == y)[keep].sum()), int(keep.sum())

    def describe(self) -> str:
        return f"copy ({self.symbols} of {self.alphabet} symbols)"


# task name -> factory(**options)
TASKS: dict[str, Callable[..., Task]] = {"parity": ParityTask, "adding": AddingTask, "copy": CopyTask}


def make_task(name: str, **options) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name](**options)
