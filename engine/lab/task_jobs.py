"""The Train panel's summarizer, captioner and forecaster jobs (shape: see engine.lab.jobs).

Each reads its data first, the way the run will, so that a missing file or one in the wrong
format fails with a clear message before a run is recorded; then it records the run (task
``summarizer`` | ``captioner`` | ``forecaster``) and trains in a child process (``isolate``), like
the dialogue and language-model jobs. ``run_id`` resumes a recorded run from its folder's
``checkpoint/`` (the forecaster has none: it is refitted on each series in seconds).
"""

from __future__ import annotations

from pathlib import Path

from engine.lab.jobs import RunRecorder, _train


def _stored_config(config: dict, run_id: int | None, store, task: str) -> dict:
    if run_id is None:
        return dict(config)
    if store is None:
        raise ValueError("history is off for this session, so recorded runs cannot be resumed")
    run = store.get_run(run_id)
    if run["task"] != task:
        raise ValueError(f"run #{run_id} is a {run['task']} run, not a {task} run")
    return dict(run["config"])


def _resumable(folder: Path) -> bool:
    return (folder / "checkpoint" / "trainer_state.json").is_file()


def _checkpointed(
    task: str, data: str, events_fn: str, store, config, out_root, run_id, progress, cancel, device, isolate
) -> dict:
    """Record (or continue recording) a run of ``task`` and train it through
    ``engine.lab.task_runs.<events_fn>``, resuming from the run folder's checkpoint when it has one."""
    rec = RunRecorder(store, task, config, data, device, out_root, run_id, progress)
    out = rec.folder(task)
    kwargs = {"config": config, "out_dir": str(out), "device": device, "resume": _resumable(out)}
    return rec.finish(_train(f"engine.lab.task_runs:{events_fn}", kwargs, rec, cancel, isolate))


def summarizer_job(
    config: dict,
    out_root: str,
    run_id: int | None = None,
    isolate: bool = True,
    *,
    progress=None,
    cancel=None,
    store=None,
    device: str = "cpu",
) -> dict:
    """Train (or, with ``run_id``, resume) the abstractive summarizer; ``config`` holds
    SummarizerTrainConfig fields (``data``: a BBC News Summary folder or a .jsonl file)."""
    from engine.lab.task_runs import check_summarizer_data

    config = _stored_config(config, run_id, store, "summarizer")
    check_summarizer_data(config, resume=run_id is not None)  # a resumed run needs no starting folder
    run = (store, config, out_root, run_id, progress, cancel, device, isolate)
    return _checkpointed("summarizer", str(config["data"]), "run_summarizer_events", *run)


def captioner_job(
    config: dict,
    out_root: str,
    run_id: int | None = None,
    isolate: bool = True,
    *,
    progress=None,
    cancel=None,
    store=None,
    device: str = "cpu",
) -> dict:
    """Train (or resume) a captioner; ``config``: images (folder), captions (file), train
    (CaptionTrainConfig fields), model (CaptionerConfig fields)."""
    from engine.lab.task_runs import check_caption_data

    config = _stored_config(config, run_id, store, "captioner")
    check_caption_data(config)
    run = (store, config, out_root, run_id, progress, cancel, device, isolate)
    return _checkpointed("captioner", str(config["captions"]), "run_captioner_events", *run)


def forecaster_job(
    config: dict,
    isolate: bool = True,
    *,
    progress=None,
    cancel=None,
    store=None,
) -> dict:
    """Fit the LSTM forecaster on a CSV column; ``config``: path, column, horizon, season, holdout,
    lstm (LSTMConfig fields). The run's metrics keep the forecast preview and holdout scores."""
    from engine.lab.forecast_run import check_forecast_data

    config = dict(config)
    facts = check_forecast_data(config)
    data = f"{config['path']} [{facts['name']}]"
    rec = RunRecorder(store, "forecaster", config, data, "cpu", "", None, progress)
    kwargs = {"config": config, "device": "cpu"}
    return rec.finish(_train("engine.lab.forecast_run:run_forecaster_events", kwargs, rec, cancel, isolate))
