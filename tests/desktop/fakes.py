"""A scripted chat bot with exactly the ChatBot interface, for UI behaviour tests.

It streams a known reply word by word with a configurable delay per token, honours the cancel
token between tokens and returns attention matrices shaped like the real model's. Tests build it
through :func:`loader` (what ``EngineService(bot_loader=...)`` takes), so no torch is imported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from engine.decoding import DecodeOptions

DEFAULT_SCRIPT = "Hello there! I am a **scripted** test bot and this is my reply."


@dataclass(frozen=True)
class FakeReply:
    text: str
    stopped: bool
    latency_ms: float
    n_tokens: int
    out_tokens: list[str] = field(default_factory=list)
    context_tokens: list[str] = field(default_factory=list)
    context_turn: list[int] = field(default_factory=list)
    turn_labels: list[str] = field(default_factory=list)
    word_attention: list[list[float]] = field(default_factory=list)
    turn_attention: list[list[float]] = field(default_factory=list)


class ScriptedBot:
    """Replies ``script`` (``{n}`` becomes the reply's number, so versions differ)."""

    def __init__(
        self,
        folder: Path,
        script: str = DEFAULT_SCRIPT,
        delay_s: float = 0.0,
        device_label: str = "CPU",
        raise_after: int | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.name = self.folder.name
        self.card = f"# {self.name}\n\nA scripted bot used by the desktop tests."
        self.device_label = device_label
        self.max_context_chars = 4000
        self.default_options = DecodeOptions()
        self.script = script
        self.delay_s = delay_s
        self.raise_after = raise_after  # raise RuntimeError after this many tokens (error path tests)
        self.calls: list[dict] = []

    def reply(self, turns, options=None, on_token=None, cancel=None, own_replies=None) -> FakeReply:
        if not turns or not str(turns[-1]).strip():
            raise ValueError("empty message: type something to send")
        t0 = time.perf_counter()
        self.calls.append({"turns": list(turns), "options": options, "own_replies": own_replies})
        words = self.script.format(n=len(self.calls)).split(" ")
        out: list[str] = []
        for i, word in enumerate(words):
            if cancel is not None and cancel.cancelled:
                break
            if self.raise_after is not None and i >= self.raise_after:
                raise RuntimeError("the scripted bot broke down")
            if self.delay_s:
                time.sleep(self.delay_s)
            piece = word if i == 0 else " " + word
            out.append(piece)
            if on_token is not None:
                on_token(piece)
        stopped = len(out) < len(words)
        context = [" " + w for t in turns for w in t.split()[:12]]  # word-start pieces, as the bot records
        turn_of = [n for n, t in enumerate(turns) for _ in t.split()[:12]]
        n_turns = len(turns)
        word_att = [
            [(1.0 + ((i + j) % 3)) / (2.0 * len(context) or 1) for j in range(len(context))]
            for i in range(len(out))
        ]
        turn_att = [[1.0 / n_turns] * n_turns for _ in out]
        return FakeReply(
            text="".join(out).strip(),
            stopped=stopped,
            latency_ms=(time.perf_counter() - t0) * 1000,
            n_tokens=len(out),
            out_tokens=[" " + p.strip() for p in out],
            context_tokens=context,
            context_turn=turn_of,
            turn_labels=[
                ("you: " if (n_turns - 1 - n) % 2 == 0 else "bot: ") + t[:20] for n, t in enumerate(turns)
            ],
            word_attention=word_att,
            turn_attention=turn_att,
        )


def loader(
    script: str = DEFAULT_SCRIPT,
    delay_s: float = 0.0,
    fail: str | None = None,
    raise_after: int | None = None,
):
    """A ``bot_loader(folder, device)`` returning ScriptedBots (or raising ValueError(fail))."""
    bots: list[ScriptedBot] = []

    def load(folder, device=None):
        if fail:
            raise ValueError(fail)
        bot = ScriptedBot(Path(folder), script, delay_s, raise_after=raise_after)
        bots.append(bot)
        return bot

    load.bots = bots
    return load


def finder(*names: str):
    """A ``model_finder(*roots)`` that reports the given model folder names."""
    return lambda *roots: [Path("/models") / n for n in names]


def probe(requested=None, force_cpu=False):
    """A ``device_probe`` that never imports torch."""
    return SimpleNamespace(name="cpu", label="CPU", bf16=False)


def service(data_dir):
    """An EngineService on ``data_dir`` with the scripted bot "tiny-bot" (not started yet)."""
    from desktop.engine_service import EngineService
    from desktop.paths import resolve_data_dir

    return EngineService(
        resolve_data_dir(data_dir), bot_loader=loader(), model_finder=finder("tiny-bot"), device_probe=probe
    )


def tab_service(root: Path):
    """What a training tab uses of the engine service: ``submitted`` keeps (kind, fn, kwargs) and a
    job finishes when the test emits ``job_finished``."""
    from PySide6.QtCore import QObject, Signal

    class TabService(QObject):
        job_progress = Signal(int, object)
        job_finished = Signal(int, object)
        job_failed = Signal(int, str)

        def __init__(self) -> None:
            super().__init__()
            self.submitted: list[tuple] = []
            self.data = SimpleNamespace(writable=True, user_models=root / "models", path=root)

        def submit(self, kind, fn, kwargs) -> int:
            self.submitted.append((kind, fn, kwargs))
            return len(self.submitted)

        def pause(self, job_id, on) -> None:
            pass

        def runs_jobs(self) -> list[int]:
            return [i for i, s in enumerate(self.submitted, 1) if s[0] == "runs"]

        def trains(self) -> list:
            return [s for s in self.submitted if s[0] == "train"]

    return TabService()


def open_window(folder: Path):
    """The app's window on the data folder ``folder`` with the scripted bot, shown at 1360 x 860 and
    its service started (for benches): (window, service)."""
    from desktop.app import build_parser, create

    window, service = create(
        build_parser().parse_args(["--data-dir", str(folder), "--theme", "light"]),
        bot_loader=loader(),
        model_finder=finder("tiny-bot"),
        device_probe=probe,
    )
    window.resize(1360, 860)
    window.show()
    service.start()
    return window, service
