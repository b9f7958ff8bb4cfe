"""Desktop test fixtures: the real window and engine service, offscreen, with a scripted bot."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

from pathlib import Path  # noqa: E402

import fakes  # noqa: E402
import pytest  # noqa: E402
from desktop_testkit import WAIT_MS, Running, send  # noqa: E402


@pytest.fixture
def start_app(qtbot, tmp_path):
    """``start_app(script=…, delay_s=…, models=("tiny-bot",), data_dir=…, wait_model=True) -> Running``."""
    from desktop.app import build_parser, create

    started: list[Running] = []

    def start(
        script: str = fakes.DEFAULT_SCRIPT,
        delay_s: float = 0.0,
        models=("tiny-bot",),
        data_dir: Path | None = None,
        wait_model: bool = True,
        fail: str | None = None,
        raise_after: int | None = None,
    ) -> Running:
        folder = Path(data_dir or tmp_path / "data")
        args = build_parser().parse_args(["--data-dir", str(folder), "--theme", "light"])
        loader = fakes.loader(script=script, delay_s=delay_s, fail=fail, raise_after=raise_after)
        window, service = create(
            args, bot_loader=loader, model_finder=fakes.finder(*models), device_probe=fakes.probe
        )
        qtbot.addWidget(window)
        window.show()
        run = Running(window, service, folder, loader)
        started.append(run)
        service.start()
        if wait_model:
            qtbot.waitUntil(lambda: window.chat.model_state != "loading", timeout=WAIT_MS)
        return run

    yield start
    for run in started:
        run.service.shutdown()
        run.window.close()


@pytest.fixture
def panel_of(start_app):
    """``panel_of(name)``: that panel of a started app (fake chat model), shown, ``.run`` set."""

    def show(name: str):
        run = start_app()
        run.window.select_panel(name)
        panel = run.window.panels[name]
        panel.run = run
        return panel

    return show


@pytest.fixture
def send_message(qtbot):
    return lambda run, text, timeout=WAIT_MS: send(qtbot, run, text, timeout)


@pytest.fixture
def train_panel(qtbot, tmp_path):
    """The Train panel on a real engine service (fake chat model), shown, with the training
    libraries imported as in the app after start-up."""
    from desktop_testkit import recorder

    from desktop.views.train import create_panel

    service = fakes.service(tmp_path / "data")
    ready = recorder(service.ready)
    service.start()
    qtbot.waitUntil(lambda: bool(ready.calls), timeout=60_000)
    widget = create_panel(service, None)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitUntil(lambda: widget.warm, timeout=60_000)
    yield widget
    service.shutdown()
