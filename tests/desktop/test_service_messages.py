"""What the engine service says when the device, a model or the history file cannot be used: a
fallback where one exists, full sentences, what to do, and no traceback for an expected cause."""

from __future__ import annotations

import logging
from pathlib import Path

import fakes
import pytest
import torch
from desktop_testkit import WAIT_MS, recorder

from desktop.paths import SHIPPED_MODELS
from engine.checkpoint import RESTORE, CheckpointError


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def real_probe(requested=None, force_cpu=False):
    """engine.device.choose_device itself (what the app runs), without setting torch's threads."""
    from engine.device import choose_device

    return choose_device(requested, force_cpu=force_cpu)


@pytest.fixture
def app(qtbot, tmp_path):
    """``app(*argv, **service_kwargs) -> (window, service, errors)``: the real window, started."""
    from desktop.app import build_parser, create

    made = []

    def make(*argv, **kwargs):
        args = build_parser().parse_args(["--data-dir", str(tmp_path / "d"), *argv])
        kwargs.setdefault("bot_loader", fakes.loader())
        kwargs.setdefault("model_finder", fakes.finder("m"))
        kwargs.setdefault("device_probe", real_probe)
        window, service = create(args, **kwargs)
        errors = recorder(service.error)
        qtbot.addWidget(window)
        made.append((window, service))
        service.start()
        return window, service, errors

    yield make
    for window, service in made:
        service.shutdown()
        window.close()


# ---- 1. PARLANCE_DEVICE that cannot be used ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("cuda", "CUDA is not available"),
        ("nonsense", "not a device name; known: auto, cpu, cuda, cuda:N, mps"),
    ],
)
def test_parlance_device_that_cannot_be_used_gives_the_cpu_and_says_so(
    qtbot, app, monkeypatch, no_gpu, value, reason
):
    """It used to leave no chat model ("Could not look for chat models: …"), the picker and the
    device label waiting for good, and every job that needs a device failing."""
    monkeypatch.setenv("PARLANCE_DEVICE", value)
    window, service, errors = app()
    qtbot.waitUntil(lambda: window.chat.model_state != "loading", timeout=WAIT_MS)
    assert window.chat.model_state == "ready"
    assert window.device_label == "CPU" and window.status.device.text() == "Device: CPU"
    assert window.chat.header.picker.combo.currentText() == "m"
    notice = (
        f"PARLANCE_DEVICE={value} cannot be used ({reason}); models run on the CPU. "
        "Unset PARLANCE_DEVICE or set it to cpu."
    )
    qtbot.waitUntil(lambda: bool(errors.calls), timeout=WAIT_MS)
    finished, failed = recorder(service.job_finished), recorder(service.job_failed)
    job = service.submit("caption", lambda device: device, {})
    qtbot.waitUntil(lambda: bool(finished.calls or failed.calls), timeout=WAIT_MS)
    assert finished.calls == [(job, "cpu")] and not failed.calls
    assert errors.calls == [(notice,)]  # said once


def test_a_job_before_the_model_search_gets_the_cpu_and_the_notice_once(qtbot, tmp_path, monkeypatch, no_gpu):
    """A job that asks for the device before the models were looked for probed it itself, and
    failed with the ValueError."""
    from desktop.engine_service import EngineService
    from desktop.paths import resolve_data_dir

    monkeypatch.setenv("PARLANCE_DEVICE", "cuda")
    service = EngineService(
        resolve_data_dir(tmp_path / "d"),
        bot_loader=fakes.loader(),
        model_finder=fakes.finder("m"),
        device_probe=real_probe,
        autoload=False,
    )
    errors, devices = recorder(service.error), recorder(service.device_changed)
    finished, failed = recorder(service.job_finished), recorder(service.job_failed)
    service.start()
    try:
        first = service.submit("summarize", lambda device: device, {})
        second = service.submit("summarize", lambda device: device, {})
        qtbot.waitUntil(lambda: len(finished.calls) + len(failed.calls) == 2, timeout=WAIT_MS)
        assert finished.calls == [(first, "cpu"), (second, "cpu")] and not failed.calls
        assert devices.calls == [("CPU",)]
        assert len(errors.calls) == 1 and errors.calls[0][0].startswith("PARLANCE_DEVICE=cuda cannot be used")
    finally:
        service.shutdown()


def test_a_failed_model_search_ends_the_waiting_states(qtbot, app):
    """ "Looking for models…" and "Device: detecting…" stayed for good when the search failed."""

    def broken_finder(*roots):
        raise RuntimeError("the disk went away")

    window, _service, _errors = app(model_finder=broken_finder, device_probe=fakes.probe)
    qtbot.waitUntil(lambda: window.chat.model_state != "loading", timeout=WAIT_MS)
    assert window.chat.model_state == "none"
    assert window.device_label == "CPU"
    qtbot.waitUntil(
        lambda: window.chat.header.picker.combo.currentText() != "Looking for models…", timeout=WAIT_MS
    )
    assert window.chat.header.picker.combo.currentText() == "No chat model found"


def test_a_device_probe_that_breaks_shows_an_unknown_device(qtbot, app):
    def broken_probe(requested=None, force_cpu=False):
        raise ImportError("torch is damaged")

    window, _service, _errors = app(device_probe=broken_probe)
    qtbot.waitUntil(lambda: window.chat.model_state != "loading", timeout=WAIT_MS)
    assert window.chat.model_state == "none"
    assert window.device_label == "unknown"
    assert window.chat.header.picker.combo.currentText() == "No chat model found"


# ---- 7. the fallback notices are full sentences ----------------------------------------------


def test_a_chat_model_that_does_not_load_is_said_in_full_sentences(qtbot, tmp_path):
    """ "…/model.safetensors: missing The shipped model is loaded instead." (no full stop)."""
    from desktop.engine_service import EngineService
    from desktop.paths import resolve_data_dir

    shipped, mine = SHIPPED_MODELS / "dialogue", Path("/models/run-x")
    good = fakes.loader()

    def loader(folder, device=None):
        if Path(folder) == mine:
            raise CheckpointError(f"{mine}/model.safetensors: missing")
        return good(folder, device)

    service = EngineService(
        resolve_data_dir(tmp_path / "d"),
        preferred_model=str(mine),
        bot_loader=loader,
        model_finder=lambda *roots: [shipped, mine],
        device_probe=fakes.probe,
    )
    errors, loaded = recorder(service.error), recorder(service.model_loaded)
    service.start()
    try:
        qtbot.waitUntil(lambda: bool(loaded.calls), timeout=WAIT_MS)
        assert errors.calls == [
            (
                f"Could not load the chat model run-x: {mine}/model.safetensors: missing. "
                "The shipped model is loaded instead.",
            )
        ]
        service.load_model(str(mine))
        qtbot.waitUntil(lambda: len(errors.calls) == 2, timeout=WAIT_MS)
        assert errors.calls[1][0] == (
            f"Could not load the chat model run-x: {mine}/model.safetensors: missing. dialogue stays loaded."
        )
    finally:
        service.shutdown()


# ---- 8. a folder where history.db belongs ----------------------------------------------------


def test_a_history_db_that_is_a_folder_is_said_with_what_to_do_and_no_traceback(qtbot, tmp_path, caplog):
    """It read "Is a directory: …/history.db." and logged an IsADirectoryError traceback."""
    data = tmp_path / "d"
    (data / "history.db").mkdir(parents=True)
    service = fakes.service(data)
    ready = recorder(service.ready)
    with caplog.at_level(logging.WARNING, logger="parlance"):
        service.start()
        try:
            qtbot.waitUntil(lambda: bool(ready.calls), timeout=WAIT_MS)
        finally:
            service.shutdown()
    info = ready.calls[0][0]
    assert info["history"] is False
    assert info["problem"] == (
        f"{data / 'history.db'} is a folder, not a history database: move or rename it and restart to "
        "keep your history."
    )
    mine = [r for r in caplog.records if "history database" in r.getMessage()]
    assert mine and all(r.levelno == logging.WARNING and not r.exc_info for r in mine)
    assert (data / "history.db").is_dir()  # left as it is


def test_the_history_store_refuses_a_folder_in_words(tmp_path):
    from engine.history import HistoryStore

    folder = tmp_path / "history.db"
    folder.mkdir()
    with pytest.raises(
        ValueError, match=r"is a folder, not a history database: move or rename it and restart"
    ):
        HistoryStore(folder)
    with pytest.raises(ValueError, match=r"is a folder, not a history database: choose a file$"):
        HistoryStore(folder, named_by_user=True)
    with pytest.raises(ValueError, match=r"is a folder, not a history database: choose a file$"):
        HistoryStore.read_only_copy(folder)


# ---- 10. a panel's model that does not load --------------------------------------------------


def _failure(folder, exc):
    from desktop.task_models import load_model_once

    def build():
        raise exc

    with pytest.raises(ValueError) as err:
        load_model_once(Path(folder), "abstractive model", None, build, "k", "Summarizer")
    return err.value


def test_a_damaged_shipped_model_says_what_to_do_without_a_class_name():
    """It read "(CheckpointError: …/config.json: damaged JSON (…))"."""
    folder = SHIPPED_MODELS / "summarizer"
    why = f"{folder}/config.json: damaged JSON (Expecting value: line 1 column 10 (char 9))"
    err = _failure(folder, CheckpointError(why))
    assert str(err) == (
        f"The abstractive model in {folder} could not be loaded: {why}. "
        "Restore the model folder or reinstall Parlance."
    )
    assert err.expected is True
    said = _failure(folder, CheckpointError(f"{folder}/model.safetensors does not match; {RESTORE}"))
    assert str(said).count("reinstall Parlance") == 1  # the advice is not given twice


def test_a_damaged_user_model_says_to_pick_another_or_retrain(tmp_path):
    folder = tmp_path / "run-1"
    err = _failure(
        folder, FileNotFoundError(2, "No such file or directory", str(folder / "model.safetensors"))
    )
    assert str(err) == (
        f"The abstractive model in {folder} could not be loaded: No such file or directory: "
        f"{folder / 'model.safetensors'}. Pick another model, or train this one again."
    )
    assert err.expected is True


def test_an_unexpected_load_failure_keeps_its_class_name(tmp_path):
    err = _failure(tmp_path, RuntimeError("bad kernel"))
    assert "(RuntimeError: bad kernel)" in str(err) and "log" in str(err)
    assert err.expected is False


def test_a_panel_job_whose_model_is_damaged_fails_in_words_with_one_log_line(qtbot, tmp_path, caplog):
    """The real summarizer loader on a damaged folder, through the service's job path."""
    from desktop import abstractive_ops

    broken = tmp_path / "run-broken"
    broken.mkdir()
    for name in abstractive_ops.MODEL_FILES:
        (broken / name).write_text("{not a model")
    service = fakes.service(tmp_path / "d")
    ready, failed = recorder(service.ready), recorder(service.job_failed)
    with caplog.at_level(logging.WARNING, logger="parlance"):
        service.start()
        try:
            qtbot.waitUntil(lambda: bool(ready.calls), timeout=WAIT_MS)
            service.submit(
                "summarize", lambda device, cache: abstractive_ops.load_abstractor(broken, device, cache), {}
            )
            service.submit("caption", lambda: {}["a bug"], {})
            qtbot.waitUntil(lambda: len(failed.calls) == 2, timeout=WAIT_MS)
        finally:
            service.shutdown()
    message = failed.calls[0][1]
    assert message.startswith(f"The abstractive model in {broken} could not be loaded: {broken}/config.json")
    assert "CheckpointError" not in message and message.endswith(
        "Pick another model, or train this one again."
    )
    jobs = [r for r in caplog.records if r.getMessage().startswith("job ")]
    assert len(jobs) == 2
    assert jobs[0].levelno == logging.WARNING and not jobs[0].exc_info  # expected: one line
    assert jobs[1].levelno == logging.ERROR and jobs[1].exc_info  # a bug keeps its traceback
