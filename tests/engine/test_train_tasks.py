"""The Train panel's summarizer, captioner and forecaster runs (engine.lab.task_jobs): recorded,
cancelled at any moment, resumed, and every bad input of the issue (files in the wrong format, a
config too large for memory, a disk that fills up while checkpointing)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from train_task_fixtures import (
    TINY_CAPTIONER,
    TINY_LSTM,
    TINY_SUMMARIZER,
    write_bbc_folder,
    write_caption_set,
    write_series_csv,
    write_summarizer_jsonl,
)

from engine.history import HistoryStore
from engine.lab import task_jobs


class CancelAfter:
    """A cancel token that fires once ``n`` events have been seen (0: before anything runs)."""

    def __init__(self, n: int, kind: str | None = None) -> None:
        self.n, self.kind, self.events = n, kind, []

    def __call__(self, event: dict) -> None:
        self.events.append(event)

    @property
    def cancelled(self) -> bool:
        return sum(self.kind is None or e.get("kind") == self.kind for e in self.events) >= self.n


def _summarizer(tmp_path, **overrides) -> dict:
    return {**TINY_SUMMARIZER, "data": str(write_summarizer_jsonl(tmp_path / "pairs.jsonl")), **overrides}


# -- summarizer ---------------------------------------------------------------------------------
@pytest.mark.parametrize("after", [0, 2, 6])
def test_summarizer_run_cancelled_at_any_moment_resumes_to_the_end(tmp_path, after):
    from engine.summarize.abstractive import Abstractor

    store = HistoryStore.open_in_memory()
    config = _summarizer(tmp_path, epochs=6)  # 4 steps an epoch: 24 steps, a validation per epoch
    token = CancelAfter(after)
    out = task_jobs.summarizer_job(
        config, str(tmp_path), isolate=False, progress=token, cancel=token, store=store
    )
    run = store.get_run(out["run_id"])
    assert (
        run["status"] == "stopped" and run["metrics"]["reason"] == "cancelled" and run["task"] == "summarizer"
    )
    stopped = run["metrics"]["steps"]
    assert stopped < 24 and (after > 0 or stopped == 0)
    state = json.loads((tmp_path / run["checkpoint"] / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == stopped  # the cancel saved a resumable checkpoint
    done = task_jobs.summarizer_job({}, str(tmp_path), run_id=out["run_id"], isolate=False, store=store)
    run = store.get_run(out["run_id"])
    assert run["status"] == "complete" and run["metrics"]["steps"] == 24 and done["folder"] == out["folder"]
    assert run["metrics"]["metric"] == "rouge_l" and 0.0 <= run["metrics"]["best_metric"] <= 1.0
    assert [p[0] for p in run["curves"]["train_loss"]] == [10, 20]  # one curve across both parts
    assert len(run["curves"]["rouge_l"]) >= 6 - stopped // 4 and run["curves"]["val_nll"]
    Abstractor.load(done["folder"])  # a model folder the Summarize panel can use


def test_summarizer_reads_a_bbc_folder(tmp_path):
    store = HistoryStore.open_in_memory()
    root = write_bbc_folder(tmp_path / "bbc")
    out = task_jobs.summarizer_job(
        {**TINY_SUMMARIZER, "data": str(root)}, str(tmp_path), isolate=False, store=store
    )
    run = store.get_run(out["run_id"])
    assert run["status"] == "complete" and run["data"] == str(root) and run["config"]["data"] == str(root)


def test_summarizer_data_in_the_wrong_format_fails_before_a_run_is_recorded(tmp_path):
    store = HistoryStore.open_in_memory()
    table = tmp_path / "table.csv"
    table.write_text("title,body\nA,b\n", encoding="utf-8")
    empty = tmp_path / "folder"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing here", encoding="utf-8")
    few = tmp_path / "few.jsonl"
    few.write_text(json.dumps({"text": "One line.", "summary": "One line."}) + "\n", encoding="utf-8")
    for data, message in (
        (table, r"table.csv:1: expected an object with 'text' and 'summary'"),
        (empty, r"expected 'News Articles/' and 'Summaries/' folders"),
        (tmp_path / "missing.jsonl", "no such file"),
        (few, "at least 2 outside the held-out test split"),
    ):
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            task_jobs.summarizer_job(
                {**TINY_SUMMARIZER, "data": str(data)}, str(tmp_path), isolate=False, store=store
            )
    with pytest.raises(ValueError, match="unknown summarizer training setting"):
        task_jobs.summarizer_job(_summarizer(tmp_path, epochz=1), str(tmp_path), isolate=False, store=store)
    assert store.list_runs() == []


# -- a config that cannot fit in memory ---------------------------------------------------------
def test_a_model_larger_than_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    from engine import memory
    from engine.dialogue.run import DialogueRunConfig, run_dialogue

    with pytest.raises(memory.TooLargeError, match="does not fit"):  # ~10^11 parameters: no machine
        memory.check_fits(memory.count_params(lambda: __import__("torch").nn.Linear(400_000, 400_000)))
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("hello there\nhi how are you\n\nwhat is your name\nparlance\n" * 4, encoding="utf-8")
    huge = {"emb_dim": 65536, "utt_hidden": 65536, "ctx_hidden": 65536, "dec_hidden": 65536}
    cfg = DialogueRunConfig(corpus=str(corpus), vocab_size=300, word_vectors="none", model=huge)
    with pytest.raises(memory.TooLargeError, match=r"This chat model does not fit: \d+\.\d M parameters"):
        run_dialogue(cfg, tmp_path / "huge")  # meta-device count: nothing of that size is allocated
    assert not (tmp_path / "huge" / "checkpoint").exists()
    # a small model on a machine with 100 KB free: the panel's summarizer run fails, recorded with why
    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": 100_000)
    store = HistoryStore.open_in_memory()
    with pytest.raises(memory.TooLargeError, match=r"This summarizer does not fit.*100 KB is free"):
        task_jobs.summarizer_job(_summarizer(tmp_path), str(tmp_path), isolate=False, store=store)
    (run,) = store.list_runs()
    assert run["status"] == "error" and "Choose smaller sizes" in run["metrics"]["error"]


def test_running_out_of_memory_mid_run_becomes_a_clear_message(tmp_path, monkeypatch):
    import engine.summarize.train as T
    from engine import memory

    def allocator_fails(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(T, "train_summarizer", allocator_fails)
    store = HistoryStore.open_in_memory()
    with pytest.raises(
        memory.TooLargeError, match="Training the summarizer ran out of memory.*smaller batch"
    ):
        task_jobs.summarizer_job(_summarizer(tmp_path), str(tmp_path), isolate=False, store=store)
    assert store.list_runs()[0]["status"] == "error"
    with pytest.raises(RuntimeError, match="something else"), memory.memory_errors():
        raise RuntimeError("something else")  # other errors pass through unchanged


# -- a disk that fills up while checkpointing ---------------------------------------------------
def _no_space_oserror(filename):
    return OSError(errno.ENOSPC, "No space left on device", filename)


def _no_space_safetensors(filename):  # what safetensors itself raises: no OSError
    from safetensors import SafetensorError

    return SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")


@pytest.mark.parametrize("no_space", [_no_space_oserror, _no_space_safetensors])
def test_a_full_disk_while_checkpointing_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, no_space):
    import safetensors.torch
    from safetensors.torch import load_file

    from engine.summarize.abstractive import Abstractor

    real_save, calls = safetensors.torch.save_file, []

    def fills_up(tensors, filename, metadata=None):
        calls.append(filename)
        if len(calls) == 5:  # the third checkpoint (two files each): half written, then the disk is full
            with open(filename, "wb") as fh:
                fh.write(b"\0" * 64)
            raise no_space(filename)
        return real_save(tensors, filename, metadata)

    monkeypatch.setattr(safetensors.torch, "save_file", fills_up)
    store = HistoryStore.open_in_memory()
    config = _summarizer(tmp_path, epochs=4)  # a checkpoint at each epoch's end: steps 4, 8, 12, 16
    with pytest.raises(
        OSError, match=r"disk is full.*step 12.*last good checkpoint \(step 8\) is kept"
    ) as info:
        task_jobs.summarizer_job(config, str(tmp_path), isolate=False, store=store)
    assert info.value.errno == errno.ENOSPC
    (run,) = store.list_runs()
    assert run["status"] == "error" and "Free some space, then resume" in run["metrics"]["error"]
    state_dir = tmp_path / run["checkpoint"] / "checkpoint"
    assert json.loads((state_dir / "trainer_state.json").read_text())["step"] == 8
    assert not list(state_dir.glob("*.part"))  # the half-written file is gone
    assert load_file(str(state_dir / "model.safetensors")) and load_file(
        str(state_dir / "optimizer.safetensors")
    )
    Abstractor.load(run["checkpoint"])  # the best model so far is whole too
    monkeypatch.setattr(safetensors.torch, "save_file", real_save)  # space freed: resume
    task_jobs.summarizer_job({}, str(tmp_path), run_id=run["id"], isolate=False, store=store)
    run = store.get_run(run["id"])
    assert run["status"] == "complete" and run["metrics"]["steps"] == 16


def test_worker_keeps_an_os_errors_number():
    from engine.lab.worker import _error

    exc = _error(
        ["OSError", "Exception"],
        "x",
        {"errno": errno.ENOSPC, "strerror": "The disk is full", "filename": "d"},
    )
    assert isinstance(exc, OSError) and exc.errno == errno.ENOSPC and exc.strerror == "The disk is full"
    assert isinstance(_error(["FileNotFoundError", "OSError"], "gone"), FileNotFoundError)


# -- captioner ----------------------------------------------------------------------------------
def test_captioner_run_cancelled_while_extracting_then_resumed_and_trained(tmp_path):
    from engine.caption.model import load

    images, captions = write_caption_set(tmp_path / "data")
    config = {**TINY_CAPTIONER, "images": str(images), "captions": str(captions)}
    store = HistoryStore.open_in_memory()
    token = CancelAfter(1, kind="extract")
    out = task_jobs.captioner_job(
        config, str(tmp_path), isolate=False, progress=token, cancel=token, store=store
    )
    run = store.get_run(out["run_id"])
    assert run["status"] == "stopped" and run["metrics"]["steps"] == 0 and run["task"] == "captioner"
    assert not list((tmp_path / run["checkpoint"]).rglob("*.npy"))  # no half feature cache left behind
    seen = []
    done = task_jobs.captioner_job(
        {}, str(tmp_path), run_id=run["id"], isolate=False, progress=seen.append, store=store
    )
    run = store.get_run(run["id"])
    assert (
        run["status"] == "complete" and run["metrics"]["steps"] == 4 and run["metrics"]["metric"] == "bleu_4"
    )
    extracted = [(e["split"], e["done"]) for e in seen if e["kind"] == "extract"]
    assert extracted[0][0] == "training" and extracted[-1] == ("validation", 2)  # 12 train, then 2 val
    assert (
        len(run["curves"]["bleu_4"]) == 2 and len(run["curves"]["cider"]) == 2 and run["curves"]["val_loss"]
    )
    model, vocab, _ = load(done["folder"])
    assert len(vocab) > 4


def test_a_trained_captioner_is_fine_tuned_self_critically_from_the_job(tmp_path):
    images, captions = write_caption_set(tmp_path / "data")
    data = {"images": str(images), "captions": str(captions)}
    store = HistoryStore.open_in_memory()
    base = task_jobs.captioner_job({**TINY_CAPTIONER, **data}, str(tmp_path), isolate=False, store=store)
    scst = {"samples": 3, "images_per_batch": 8, "eval_every": 1, "max_steps": 2, "val_beam": 1, "lr": 0.01}
    config = {**TINY_CAPTIONER, **data, "scst_from": base["folder"], "scst": scst}
    seen = []
    done = task_jobs.captioner_job(config, str(tmp_path), isolate=False, progress=seen.append, store=store)
    run = store.get_run(done["run_id"])
    assert (
        run["status"] == "complete" and run["metrics"]["steps"] == 2 and run["metrics"]["metric"] == "cider"
    )
    start = next(e for e in seen if e["kind"] == "start")
    assert start["scst_from"] == base["folder"] and start["steps_per_epoch"] == 2
    assert [p[0] for p in run["curves"]["cider"]] == [0, 1, 2]  # the starting model, then steps 1 and 2
    meta = json.loads((Path(done["folder"]) / "config.json").read_text())
    assert meta["extra"]["scst"]["init_model"] == base["folder"]
    base_meta = json.loads((Path(base["folder"]) / "config.json").read_text())
    assert meta["config"] == base_meta["config"]  # the same architecture, fine-tuned

    for bad, message in (
        ({"scst_from": str(tmp_path / "nowhere")}, "nowhere"),
        ({"scst_from": base["folder"], "scst": {"metric": "val_loss"}}, "BLEU-4 or CIDEr"),
        ({"scst_from": base["folder"], "scst": {"samples": 1}}, "at least 2"),
    ):
        with pytest.raises(ValueError, match=message):
            task_jobs.captioner_job(
                {**TINY_CAPTIONER, **data, **bad}, str(tmp_path), isolate=False, store=store
            )
    assert len(store.list_runs()) == 2  # the refused configurations recorded nothing


def test_caption_data_in_the_wrong_format_fails_before_a_run_is_recorded(tmp_path):
    images, captions = write_caption_set(tmp_path / "data")
    store = HistoryStore.open_in_memory()
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("file,text\npic0000.png,a ball\n", encoding="utf-8")
    not_coco = tmp_path / "bad.json"
    not_coco.write_text('{"captions": []}', encoding="utf-8")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\xff\x10" * 50)
    other = tmp_path / "other.csv"
    other.write_text("image,caption\nnobody.png,a ball\n", encoding="utf-8")
    for imgs, caps, message in (
        (images, bad_csv, "must name 'image' and 'caption' columns"),
        (images, not_coco, "COCO captions JSON needs"),
        (images, binary, "bin.txt: CSV header must name"),
        (images, other, "none of the 1 captioned images exist"),
        (tmp_path / "nowhere", captions, "image folder not found"),
        (images, tmp_path / "missing.csv", "caption file not found"),
    ):
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            task_jobs.captioner_job(
                {**TINY_CAPTIONER, "images": str(imgs), "captions": str(caps)},
                str(tmp_path),
                isolate=False,
                store=store,
            )
    assert store.list_runs() == []


# -- forecaster ---------------------------------------------------------------------------------
def test_forecaster_run_records_curves_a_preview_and_holdout_scores(tmp_path):
    path = write_series_csv(tmp_path / "sales.csv")
    store = HistoryStore.open_in_memory()
    seen = []
    config = {"path": str(path), "column": "sales", "horizon": 6, "holdout": True, "lstm": TINY_LSTM}
    out = task_jobs.forecaster_job(config, isolate=False, progress=seen.append, store=store)
    run = store.get_run(out["run_id"])
    assert run["status"] == "complete" and run["task"] == "forecaster" and run["checkpoint"] is None
    assert run["data"].endswith("sales.csv [sales]")
    assert [p[0] for p in run["curves"]["train_loss"]] == [1, 2, 3, 4] and len(run["curves"]["val_loss"]) == 4
    assert {"start", "progress", "eval", "refit"} <= {e["kind"] for e in seen}
    m = run["metrics"]
    assert m["best_metric"] == min(p[1] for p in run["curves"]["val_loss"])
    preview = m["preview"]
    assert len(preview["mean"]) == len(preview["actual"]) == len(preview["fx"]) == 6 and preview["dated"]
    assert len(preview["y"]) == 90 and all(lo <= hi for lo, hi in zip(preview["lo95"], preview["hi95"]))
    assert set(m["scores"]) >= {"mae", "rmse", "smape", "mase", "cov80", "cov95"} and m["scores"]["mae"] >= 0
    # cancelled: nothing to resume from (the forecaster keeps no checkpoint), the run says stopped
    token = CancelAfter(3)
    out = task_jobs.forecaster_job(config, isolate=False, progress=token, cancel=token, store=store)
    run = store.get_run(out["run_id"])
    assert (
        run["status"] == "stopped"
        and run["metrics"]["reason"] == "cancelled"
        and 1 <= run["metrics"]["steps"] < 6
    )


def test_forecast_data_in_the_wrong_format_fails_before_a_run_is_recorded(tmp_path):
    path = write_series_csv(tmp_path / "sales.csv")
    words = tmp_path / "words.csv"
    words.write_text("name,colour\nann,red\nbob,blue\ncy,green\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    store = HistoryStore.open_in_memory()
    for config, message in (
        ({"path": str(words)}, "no numeric column"),
        ({"path": str(empty)}, "empty"),
        ({"path": str(path), "column": "note"}, "not numeric"),
        ({"path": str(path), "column": "price"}, "no column 'price'"),
        ({"path": str(path), "horizon": 60, "holdout": True}, "too few to hold out"),
        ({"path": str(path), "lstm": {"hiden": 4}}, "unknown forecaster setting"),
    ):
        with pytest.raises(ValueError, match=message):
            task_jobs.forecaster_job({"horizon": 6, **config}, isolate=False, store=store)
    assert store.list_runs() == []


def test_a_run_whose_folder_was_deleted_is_not_resumed_as_if_it_were_there(tmp_path):
    """Resume after deleting the run's folder retrained from step 0 under the same run id and
    reported it completed, one curve across two unrelated runs (bug hunt)."""
    import shutil

    store = HistoryStore.open_in_memory()
    token = CancelAfter(2)
    out = task_jobs.summarizer_job(
        _summarizer(tmp_path, epochs=6),
        str(tmp_path),
        isolate=False,
        progress=token,
        cancel=token,
        store=store,
    )
    shutil.rmtree(out["folder"])
    with pytest.raises(ValueError, match="cannot be resumed: its folder .* is gone"):
        task_jobs.summarizer_job({}, str(tmp_path), run_id=out["run_id"], isolate=False, store=store)
    assert store.get_run(out["run_id"])["status"] == "stopped"


def test_data_held_in_ram_are_checked_against_ram_also_when_training_on_a_gpu(monkeypatch):
    """The captioner's image features stay in the computer's memory: on CUDA they were counted
    against the GPU's free memory (a small GPU refused a big image set) and RAM went unchecked."""
    from engine import memory

    free = {"cuda:0": 2_000_000_000, "cpu": 1_000_000_000}
    monkeypatch.setattr(memory, "available_bytes", lambda device="cpu": free[str(device)])
    features = 1_500_000_000  # more than the RAM, less than the GPU has
    with pytest.raises(memory.TooLargeError, match="training data need 1.5 GB of the computer's memory"):
        memory.check_fits(1_000, "cuda:0", "This captioner", extra_bytes=features)
    free["cpu"] = 8_000_000_000
    free["cuda:0"] = 1_000_000_000  # less GPU memory than the features take: they are not on it
    assert memory.check_fits(1_000, "cuda:0", "This captioner", extra_bytes=features) > features
    with pytest.raises(memory.TooLargeError, match="1.5 GB of memory"):  # on the CPU both count
        free["cpu"] = 1_000_000_000
        memory.check_fits(1_000, "cpu", "This captioner", extra_bytes=features)
