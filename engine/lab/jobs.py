"""The Train panel's jobs: plain functions in the shape the app's engine service runs.

Each takes its inputs as keyword arguments plus any of ``progress`` (callable(dict)), ``cancel``
(``.cancelled``), ``store`` (the HistoryStore or None) and ``device`` (a torch device string),
and returns a JSON-able dict. No Qt here: the service calls them on its engine thread, and tests
call them directly.

Training runs (dialogue, language model, and in engine.lab.task_jobs the summarizer, captioner and
forecaster) are recorded in the store's ``runs`` table: config, data source, device, checkpoint
folder, status, metrics and curves (``{"train_loss": [[step, value, elapsed_s], …], "val_loss":
[…], "tokens_per_s": […]}`` plus one curve per validation metric: ``val_ppl``, ``rouge_l``,
``bleu_4`` …). A stopped run resumes from its folder's ``checkpoint/`` with its curves continued; a
complete run's ``checkpoint/`` is removed (it is never resumed). The folder is recorded relative
to the history's folder when it lies inside it (a copied data folder keeps its runs), and jobs
hand it out absolute. Runs can be listed (without curves), renamed and deleted with their files.

Training runs go to a child process (engine.lab.worker) at a lower CPU priority (``WORKER_NICE``;
the environment variable ``PARLANCE_TRAIN_NICE`` overrides it, 0 = the same as the app).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from engine.training import (
    FINISHED_OK,
    LOCK_FILE,
    RUN_FILE,
    STATE_DIR,
    folder_in_use,
    mark_run_folder,
    run_folder_owner,
)

log = logging.getLogger(__name__)
NOT_CURVES = ("step", "epoch", "elapsed_s")  # evaluation dict entries that are not metrics
# summary entries other tasks add to a run's metrics: the selection metric's name and best value,
# the last validation's metrics, a forecast's preview and scores
EXTRA_METRICS = ("metric", "best_metric", "last", "preview", "scores", "notes")
WORKER_NICE = 5  # how much lower the CPU priority of a training process is (POSIX nice)
HEARTBEAT_S = 0.1  # at most this often a run in a child process says it is alive while silent
# RUN_FILE in a run's folder: {"run_id", "status", "reason"}, "running" until the run ends; a cancelled
# run looked like a finished model in the pickers (see run_state). CLI runs write it too (no run_id).
LABEL_CHARS = 80  # the longest name a run can be given


def _noop(_info: dict) -> None:
    return None


def warm_up() -> bool:
    """Import what the first training run would import (torch, and torch._dynamo, which the first
    optimizer pulls in: seconds of imports that hold the GIL in long stretches). Run it when the
    panel opens, so that those pauses do not land in the middle of a run the user is watching."""
    import torch

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    return True


# -- lecture experiments ------------------------------------------------------------------------


COMPARE_TASK = "compare-cells"  # the runs table's task name of a cell comparison


def compare_job(config: dict, *, progress=None, cancel=None, device: str = "cpu", store=None) -> dict:
    """Run a cell comparison; with history on it is kept as a run (task "compare-cells", the whole
    result as its metrics) so that it can be shown again later (``compare_runs_job``)."""
    from engine.lab.compare import CompareConfig, run_comparison

    cfg = CompareConfig(
        **{**config, "cells": tuple(config.get("cells", ())), "lengths": tuple(config.get("lengths", ()))}
    )
    t0 = time.monotonic()
    result = run_comparison(cfg, device, progress or _noop, cancel)
    if store is not None:
        run_id = store.add_run(COMPARE_TASK, dict(config), result["description"], device)
        store.update_run(
            run_id,
            status="stopped" if result["cancelled"] else "complete",
            metrics=result,
            duration_s=round(time.monotonic() - t0, 2),
        )
        result = {**result, "run_id": run_id}
    return result


def compare_runs_job(*, store=None) -> list[dict]:
    """Kept cell comparisons, newest first: ``{"id", "started_at", "status", "result"}``."""
    if store is None:
        return []
    return [
        {"id": r["id"], "started_at": r["started_at"], "status": r["status"], "result": r["metrics"]}
        for r in store.list_runs(curves=False, task=COMPARE_TASK)
        if _measured(r["metrics"].get("accuracy"))
    ]


def _measured(accuracy) -> bool:
    """A comparison with at least one measured point (one cancelled at once has only None)."""
    return isinstance(accuracy, dict) and any(
        a is not None for accs in accuracy.values() if isinstance(accs, list) for a in accs
    )


def flow_job(config: dict, *, progress=None, cancel=None, device: str = "cpu") -> dict:
    from engine.lab.flow import FlowConfig, run_flow

    return run_flow(FlowConfig(**config), device, progress or _noop, cancel)


GENSIM_CORPUS_SENTENCES = 60_000  # utterances of a built-in corpus used for its gensim vectors


def _sentences(text_path: str) -> list[str]:
    """Sentences for gensim vectors: a text file, or "chitchat" / "chatterbot" (the chat model's
    corpora; a seeded sample of their utterances, lower-cased as the chat model sees them)."""
    import random

    from engine.lab.lm import read_sentences

    if text_path in ("chitchat", "chatterbot"):
        from engine.dialogue.corpus import load_corpus
        from engine.dialogue.data import prep

        turns = [prep(t) for d in load_corpus(text_path) for t in d.turns]
        if len(turns) > GENSIM_CORPUS_SENTENCES:
            turns = random.Random(0).sample(turns, GENSIM_CORPUS_SENTENCES)
        return turns
    return read_sentences(text_path)


def model_kind(folder: str) -> str:
    """The ``kind`` in a model folder's config.json ("dialogue", "lab_lm" …); a clear error if none."""
    from engine import checkpoint

    return str(checkpoint.read_config(folder).get("kind", ""))


def load_chat_model(folder: str, device: str = "cpu"):
    from engine.dialogue.bot import ChatBot

    return ChatBot.load(folder, device)


def sentence_input(folder: str, text: str, device: str = "cpu"):
    """A sentence as a model folder's recurrent network reads it: ``(rnn, x (1, T, E), tokens,
    cell name)``. A chat model (kind "dialogue") reads it as your message through its utterance
    encoder (forward direction, speaker mark first); a lab language model through its RNN."""
    import torch

    if not text.strip():
        raise ValueError("type a sentence to feed the model")
    if model_kind(folder) == "dialogue":
        bot = load_chat_model(folder, device)
        x_ids, _, pieces, *_ = bot.prepare([text])
        tokens = [p.replace("\u2581", " ").strip() or "_" for p in pieces]
        with torch.no_grad():
            x = bot.model.embed(x_ids[0, -1:, : len(tokens)])  # (1, T, E)
        return bot.model.utt_enc, x, tokens, f"{bot.model.cfg.cell} (utterance encoder, forward direction)"
    from engine.lab.lm import load_lm

    lm, tok = load_lm(folder, device)
    ids = tok.encode(text)
    tokens = [tok.id_to_piece(i).replace("\u2581", " ").strip() or "_" for i in ids]
    with torch.no_grad():
        x = lm.embed(torch.tensor([ids], device=device))  # (1, T, E)
    return lm.rnn, x, tokens, lm.cfg.cell


def embedding_matrix(folder: str):
    """(word embedding matrix (V, E) as numpy, tokenizer, how a word is written for it) of a chat
    model or lab language model. A chat model knows lower-case text only ("Dog" would become the
    pieces of "og"): its words go through its own ``prep``."""
    if model_kind(folder) == "dialogue":  # the chat model: its (tied) word embedding
        from engine.dialogue.data import prep

        bot = load_chat_model(folder, "cpu")
        return bot.model.embed.weight.detach().numpy(), bot.tok, prep
    from engine.lab.lm import load_lm

    model, tok = load_lm(folder, "cpu")
    return model.embed.weight.detach().numpy(), tok, str.strip


def gates_job(
    cell: str = "gru",
    bits: str = "",
    model: str = "",
    text: str = "",
    steps: int = 0,
    hidden_size: int = 16,
    *,
    device: str = "cpu",
) -> dict:
    """Gates over time for ``text`` through an LM folder ``model``, or for parity ``bits``.

    Returns ``{"cell", "tokens": [...], "layers": [{gate: (T, H) nested list}]}``.
    """
    import torch

    from engine.lab.probes import gate_activations

    if model:
        rnn, x, tokens, cell = sentence_input(model, text, device)
    else:
        from engine.lab.compare import CompareConfig, SequenceModel, train_one
        from engine.lab.tasks import ParityTask

        seq = ParityTask.from_string(bits)
        task = ParityTask()
        if steps:
            cfg = CompareConfig(task="parity", cells=(cell,), hidden_size=hidden_size, steps=steps)
            net, _ = train_one(task, cell, seq.shape[1], cfg, device)
        else:
            torch.manual_seed(0)
            net = SequenceModel(task, cell, hidden_size).to(device)
        x, tokens, rnn = task.encode(seq).to(device), list(bits.strip()), net.rnn
    layers = gate_activations(rnn, x)
    return {"cell": cell, "tokens": tokens, "layers": [{k: v.tolist() for k, v in g.items()} for g in layers]}


# -- language model -----------------------------------------------------------------------------


def _threads() -> int:
    """The torch CPU threads this process uses (the app sets them), for a child process to copy."""
    import sys

    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else 0


def _train(target: str, kwargs: dict, rec: RunRecorder, cancel, isolate: bool) -> dict:
    """Run a training target in a child process (``isolate``) or here, recording it; returns its summary."""
    try:
        if isolate:
            from engine.lab.worker import run_in_worker

            return run_in_worker(
                target,
                kwargs,
                rec.on_event,
                cancel,
                threads=_threads(),
                nice=int(os.environ.get("PARLANCE_TRAIN_NICE", WORKER_NICE)),
                idle=rec.heartbeat,
            )
        module, _, name = target.partition(":")
        fn = getattr(importlib.import_module(module), name)
        return fn(**kwargs, on_event=rec.on_event, cancel=cancel)
    except Exception as exc:
        rec.fail(exc)
        raise


def lm_train_job(
    text_path: str,
    out_root: str,
    model: dict | None = None,
    train: dict | None = None,
    run_id: int | None = None,
    isolate: bool = True,
    *,
    progress=None,
    cancel=None,
    store=None,
    device: str = "cpu",
) -> dict:
    """Train (or, with ``run_id``, resume) a language model on a text file; recorded as task ``lm``.

    ``isolate`` trains in a child process (engine.lab.worker), so the app's window stays smooth.
    """
    from engine.lab.lm import read_sentences

    config = {"model": model or {}, "train": train or {}, "text": text_path}
    if run_id is not None and store is not None:
        config = store.get_run(run_id)["config"]
    if len(read_sentences(config["text"])) < 2:  # a bad or too-short file fails before a run is recorded
        raise ValueError("a language model needs at least two sentences of text")
    rec = RunRecorder(store, "lm", config, config["text"], device, out_root, run_id, progress)
    kwargs = {
        "text_path": config["text"],
        "out_dir": str(rec.folder("lm")),
        "model": config["model"],
        "train": config["train"],
        "device": device,
        "resume": run_id is not None,
    }
    return rec.finish(_train("engine.lab.lm:train_lm_events", kwargs, rec, cancel, isolate))


def lm_generate_job(
    folder: str, seed_text: str = "", options: dict | None = None, *, device: str = "cpu"
) -> dict:
    from engine.decoding import DecodeOptions
    from engine.lab.lm import generate, load_lm

    model, tok = load_lm(folder, device)
    opts = DecodeOptions.from_dict({"method": "sample", **(options or {})})
    return {"seed": seed_text, "text": generate(model, tok, seed_text, opts, device)}


def human_or_model_job(folder: str, text_path: str, seed: int | None = None, *, device: str = "cpu") -> dict:
    from engine.lab.lm import human_or_model, load_lm, read_sentences

    model, tok = load_lm(folder, device)
    return human_or_model(model, tok, read_sentences(text_path), seed=seed, device=device)


def embeddings_job(
    folder: str, word: str = "", words: list[str] | None = None, text_path: str = "", k: int = 8
) -> dict:
    """Neighbours of ``word`` in the LM embedding (and gensim vectors on ``text_path``); PCA of ``words``."""
    from engine.lab import embeddings as E

    matrix, tok, written = embedding_matrix(folder)
    word, words = written(word), [written(w) for w in words or []]
    out: dict = {"word": word}
    if word:
        out["model"] = E.model_neighbours(matrix, tok, word, k)
        if text_path:
            from engine.text.vectors import simple_tokenize

            # gensim's vectors are trained on lower-cased words: say which word its list is for
            out["gensim_word"] = " ".join(simple_tokenize(word))
            try:
                out["gensim"] = E.gensim_neighbours(_sentences(text_path), out["gensim_word"], k)
            except (ValueError, OSError) as exc:  # the model's own neighbours are still worth showing
                out["gensim_error"] = str(exc)
    if words and len(words) >= 2:
        try:
            out["projection"] = E.projection(matrix, tok, list(words))
        except ValueError as exc:  # one unknown word must not take the neighbours with it
            out["projection_error"] = str(exc)
    return out


# -- dialogue -----------------------------------------------------------------------------------


def dialogue_job(
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
    """Train (or, with ``run_id``, resume) a dialogue model; ``config`` holds DialogueRunConfig fields.

    ``corpus`` "history" / "history-liked" trains on the user's own conversations (all of them /
    only replies rated up). ``isolate`` trains in a child process (engine.lab.worker).
    """
    from engine.dialogue.run import held_out_split, history_dialogues, make_config
    from engine.extras import require_corpus

    if run_id is not None and store is not None:
        config = store.get_run(run_id)["config"]
    config = dict(config)
    corpus = config.get("corpus", "chitchat")
    dialogues = None
    if corpus in ("history", "history-liked"):
        chats = history_dialogues(store, corpus == "history-liked")
        config["last_turn_only"] = corpus == "history-liked"
        held_out_split(chats, last_turn_only=config["last_turn_only"])  # too few chats: said before recording
        dialogues = [[d.id, list(d.turns)] for d in chats]
    cfg = make_config(config)  # unknown settings fail here, before a run is recorded
    # then a built-in corpus missing its package (it failed in the run, leaving a resumable "error" row)
    require_corpus(corpus)
    if run_id is None:
        dialogues = _check_new_dialogue_run(cfg, dialogues is None) or dialogues
        if cfg.init_from:  # fine-tuning keeps the starting model's cell: recorded and named as such
            config["model"] = {**(config.get("model") or {}), "cell": _cell_of(cfg)}
    rec = RunRecorder(store, "dialogue", config, corpus, device, out_root, run_id, progress)
    out = rec.folder(f"dialogue-{config.get('model', {}).get('cell', 'gru')}")
    kwargs = {
        "config": config,
        "out_dir": str(out),
        "dialogues": dialogues,
        "device": device,
        "resume": run_id is not None,
    }
    return rec.finish(_train("engine.dialogue.run:run_dialogue_events", kwargs, rec, cancel, isolate))


def _cell_of(cfg) -> str:
    """The cell a run trains: the starting model's when it fine-tunes one (the form's is ignored)."""
    if cfg.init_from:
        from engine import checkpoint

        try:
            return str(checkpoint.read_config(cfg.init_from)["config"].get("cell", "gru"))
        except (OSError, ValueError, KeyError):
            pass  # the run itself names what is wrong with the starting model
    return str(cfg.model.get("cell", "gru"))


def _check_new_dialogue_run(cfg, files: bool) -> list | None:
    """What would fail at the start of a new run fails here, before it is recorded with a folder and
    a Resume that could never work: the model's sizes (dot attention needs equal query and key
    sizes) and a corpus file that cannot be read or is too small to hold a dialogue out. Returns
    the file's dialogues as the run takes them (read once), or None."""
    from engine.dialogue.config import HREDConfig
    from engine.dialogue.model import HRED
    from engine.dialogue.run import held_out_split, load_dialogues

    if not cfg.init_from:
        try:
            HRED(HREDConfig(vocab_size=16, **cfg.model))
        except TypeError as exc:
            raise ValueError(f"the model settings do not fit together: {exc}") from exc
    if files and cfg.corpus not in ("chitchat", "chatterbot"):  # built in: their package is checked
        dialogues = load_dialogues(cfg)
        held_out_split(dialogues, last_turn_only=cfg.last_turn_only)
        return [[d.id, list(d.turns)] for d in dialogues]
    return None


def run_state(folder) -> str | None:
    """ "unfinished" for a run folder whose training did not finish (stopped, failed, still running
    or cut off by a crash), "finished", or None where the folder does not say (the shipped models,
    runs from before RUN_FILE). A trainer's train_log.json (CLI runs) is read when RUN_FILE is absent."""
    folder = Path(folder)
    for name, key in ((RUN_FILE, "status"), ("train_log.json", "reason")):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        return "finished" if value == "complete" or value in FINISHED_OK else "unfinished"
    return None


def _run_folder(store, stored: str | None, run_id: int | None = None) -> Path | None:
    """Run ``run_id``'s folder, absolute, from its recorded ``checkpoint`` (see HistoryStore.run_folder)."""
    if not stored:
        return None
    return store.run_folder(stored, run_id) if store is not None else Path(stored)


def _with_folder(store, run: dict) -> dict:
    """A run as the jobs hand it out: its folder absolute (``"folder"``, and ``"checkpoint"`` for
    older callers) and whether that folder exists (``"folder_exists"``)."""
    folder = _run_folder(store, run.get("checkpoint"), run.get("id"))
    run["folder"] = run["checkpoint"] = None if folder is None else str(folder)
    run["folder_exists"] = folder is not None and folder.is_dir()
    return run


def runs_job(*, store=None, live=()) -> list[dict]:
    """Every recorded run, newest first ([] when history is off), without its curves (``"curves"``
    None: run_curves_job has them). ``"folder"`` (and ``"checkpoint"``) is the run's folder as an
    absolute path or None, ``"folder_exists"`` whether it is there. A run recorded as running that
    is not among ``live`` (the run ids this app is training now) was cut off — the app was killed or
    crashed — and is shown as "interrupted", which can be resumed from its last checkpoint."""
    if store is None:
        return []
    runs = store.list_runs(curves=False)
    for run in runs:
        if run.get("status") == "running" and run.get("id") not in live:
            run["status"] = "interrupted"
        _with_folder(store, run)
    return runs


def run_curves_job(run_ids: list[int], *, store=None) -> dict[int, dict]:
    """The curves of the runs ``run_ids`` (run id -> curves, ``{}`` for a run without any); runs no
    longer in the history are left out."""
    if store is None:
        return {}
    return store.run_curves(run_ids)


def rename_run_job(run_id: int, label: str, *, store=None) -> dict:
    """Name a run (``""`` clears the name): spaces and line breaks are collapsed and the name cut
    at LABEL_CHARS characters. Returns the run as runs_job lists it."""
    if store is None:
        raise ValueError("history is off for this session, so runs cannot be renamed")
    if label is not None and not isinstance(label, str):
        raise ValueError(f"a run's name must be text, not {type(label).__name__}")
    label = " ".join((label or "").split())[:LABEL_CHARS].rstrip()
    store.update_run(run_id, label=label or None)
    return _with_folder(store, {**store.get_run(run_id), "curves": None})


def folder_size_job(path: str) -> int:
    """Bytes in the files under ``path`` (0 when it is missing); a link counts as its own few bytes,
    never as what it points to."""
    total = 0
    root = Path(path)
    if root.is_symlink() or not root.is_dir():
        return 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _owns_folder(store, run_id: int, folder: Path) -> bool:
    """Whether ``folder`` may be deleted with run ``run_id`` (never the history's folder itself,
    nor one holding it): one whose RUN_FILE names a run is this run's only when it names this run;
    one whose RUN_FILE names none (older runs have none) is a run's folder by its name ("run-…")
    inside the history's folder, never a folder such as models/ that a hand-edited record could name."""
    try:
        target = folder.resolve()
        base = store.folder.resolve() if store.folder is not None else None
    except OSError:
        return False
    if base is not None and (target == base or base.is_relative_to(target)):
        return False
    owner = run_folder_owner(folder)
    if owner is not None:
        return owner == run_id  # another run's folder, whatever its name and place
    return base is not None and target.is_relative_to(base) and target.name.startswith("run-")


def delete_run_job(run_id: int, files: bool, *, store=None, live=()) -> dict:
    """Remove run ``run_id`` from the history and, with ``files``, its folder: only a folder inside
    the history's folder, or one whose RUN_FILE names this run (anything else, a folder the run was
    pointed at by hand, is left where it is). Returns ``{"run_id", "folder", "files_removed",
    "freed_bytes"}``. A run being trained now (``live``, or a folder a trainer holds) is refused."""
    if store is None:
        raise ValueError("history is off for this session, so runs cannot be deleted")
    if run_id in live:
        raise ValueError(f"run #{run_id} is being trained now; stop it first, then delete it")
    run = store.get_run(run_id)  # NotFoundError when it is gone already
    folder = _run_folder(store, run.get("checkpoint"), run_id)
    if folder is not None and folder.is_dir():
        pid = folder_in_use(folder)
        if pid is not None:
            who = f" (pid {pid})" if pid else ""
            raise ValueError(
                f"run #{run_id} is being trained by another program{who} in {folder}; wait for it to "
                "end, then delete it"
            )
    removed, freed = False, 0
    deletable = folder is not None and folder.is_dir() and not folder.is_symlink()
    if files and deletable and _owns_folder(store, run_id, folder):
        freed = folder_size_job(str(folder))
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            left = folder_size_job(str(folder))
            raise OSError(
                f"the folder of run #{run_id}, {folder}, could not be removed completely ({exc}); "
                f"{left} bytes are left in it and the run is kept in the list: close programs "
                "using its files and delete it again"
            ) from exc
        removed = True
    store.delete_run(run_id)
    return {
        "run_id": run_id,
        "folder": None if folder is None else str(folder),
        "files_removed": removed,
        "freed_bytes": freed,
    }


def _check_resumable(run_id: int, folder: str | None) -> None:
    """A run is resumed from its folder; a run whose folder was deleted would quietly start over
    under the same id and call the result one run. (A folder without a checkpoint yet — stopped
    while extracting features — starts its training from the beginning, as it should.)"""
    if folder and not Path(folder).is_dir():
        raise ValueError(f"run #{run_id} cannot be resumed: its folder {folder} is gone; start a new run")


class RunRecorder:
    """Keeps a run's row in the store up to date and forwards trainer events as dicts.

    The run's folder is recorded relative to the history's folder when it lies inside it (see
    HistoryStore.stored_run_folder) and read back absolute; ``checkpoint`` here is always absolute."""

    def __init__(
        self,
        store,
        task: str,
        config: dict,
        data: str,
        device: str,
        out_root: str,
        run_id: int | None,
        progress: Callable | None,
    ) -> None:
        self.store, self.progress = store, progress or _noop
        self._last_beat = 0.0
        self.earlier: dict = {}
        self.run_id, self.out_root, self.resumed = run_id, Path(out_root), run_id is not None
        self.curves: dict = {"train_loss": [], "val_loss": [], "val_ppl": [], "tokens_per_s": []}
        self.checkpoint: str | None = None
        self._marked = False  # RUN_FILE says "running" in the run's folder
        self._gone = False  # the run's record was deleted (the CLI) while it ran: nothing more to save
        self._progressed = False  # this session trained at least one logged step
        self.started = time.monotonic()
        if store is not None and run_id is not None:
            row = store.get_run(run_id)
            folder = _run_folder(store, row["checkpoint"], run_id)
            self.checkpoint = None if folder is None else str(folder)
            _check_resumable(run_id, self.checkpoint)
            self.curves.update(row["curves"] or {})
            self.earlier = row.get("metrics") or {}  # what the run measured before it was stopped
            moved = {}
            if self.checkpoint and store.stored_run_folder(self.checkpoint) != row["checkpoint"]:
                moved["checkpoint"] = store.stored_run_folder(self.checkpoint)  # old rows: now relative
            store.update_run(run_id, status="running", **moved)
        elif store is not None:
            self.run_id = store.add_run(task, config, data, device)
        self.heartbeat()  # the app knows the run is live (the first beat is never held back)

    def folder(self, name: str) -> Path:
        if self.checkpoint:
            return Path(self.checkpoint)
        from datetime import datetime

        stamp = (
            f"run-{self.run_id:04d}"
            if self.run_id is not None
            else datetime.now().strftime("run-%Y%m%d-%H%M%S")
        )
        path = self.out_root / f"{stamp}-{name}"
        n = 2
        while path.exists():  # run ids restart with a fresh history: never write into an older run
            path = self.out_root / f"{stamp}-{name}-{n}"
            n += 1
        self.checkpoint = str(path.absolute())
        self._save_quietly(checkpoint=self._stored())  # written again when the run ends
        return Path(self.checkpoint)

    def _stored(self) -> str | None:
        """The run's folder as the history records it."""
        if self.checkpoint is None or self.store is None:
            return self.checkpoint
        return self.store.stored_run_folder(self.checkpoint)

    def _save_quietly(self, **fields) -> bool:
        """A bookkeeping write that must never stop a training run: a history held by another
        program (or read-only, or on a full disk: HISTORY_UNWRITABLE) keeps the values here, written
        at the next validation or when the run ends; a record deleted meanwhile is not written
        again (see _record_gone). True when written."""
        if self.store is None or self.run_id is None or self._gone:
            return False
        from engine.history import HISTORY_UNWRITABLE, NotFoundError  # loaded with the store already

        try:
            self.store.update_run(self.run_id, **fields)
        except NotFoundError as exc:
            self._record_gone(exc)
            return False
        except HISTORY_UNWRITABLE as exc:
            log.warning(
                "run #%s: its progress is not saved to the history now (%s); kept for later", self.run_id, exc
            )
            return False
        return True

    def _record_gone(self, exc: Exception) -> None:
        """The run's record was deleted while it trained (``history delete run`` before the trainer
        held its folder): said once; the run goes on and its model is written, unrecorded."""
        if not self._gone:
            self._gone = True
            log.warning(
                "run #%s: its record was deleted from the history (%s); the run goes on without one",
                self.run_id,
                exc,
            )

    def info(self, info: dict) -> None:
        curves = {k: [list(p) for p in v] for k, v in self.curves.items()}  # a copy: it crosses threads
        self.progress({**info, "run_id": self.run_id, "resumed": self.resumed, "curves": curves})

    def on_event(self, event) -> None:
        """A trainer event (object or dict, see engine.dialogue.run.event_dict) or a run's "start" info."""
        from engine.dialogue.run import event_dict

        e = event if isinstance(event, dict) else event_dict(event)
        kind = e["kind"]
        if not self._marked:  # the trainer has made the folder by its first event
            self._marked = self.mark("running")
        if kind == "start":
            self.info(e)
            return
        if kind == "progress":
            self._progressed = True
            self.curves["train_loss"].append([e["step"], e["loss"], round(e["elapsed_s"], 2)])
            self.curves["tokens_per_s"].append([e["step"], round(e["items_per_s"], 1)])
        elif kind == "eval":
            for key, value in e["metrics"].items():  # val_loss, val_ppl, rouge_l, bleu_4, cider …
                if key not in NOT_CURVES and isinstance(value, (int, float)) and not isinstance(value, bool):
                    point = [e["step"], value, round(e["elapsed_s"], 2)]
                    self.curves.setdefault(key, []).append(point)
            # a crash loses at most the curve since the last validation; a busy history, nothing
            self._save_quietly(curves=self.curves)
        self.progress({**e, "run_id": self.run_id})

    def heartbeat(self) -> None:
        """Tell the caller the run is alive while no event comes (paused, or a long evaluation): a
        ``{"kind": "heartbeat"}`` progress at most every HEARTBEAT_S, which the app's engine thread
        uses to serve its other requests meanwhile; the panels ignore it."""
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_S:
            self._last_beat = now
            self.progress({"kind": "heartbeat", "run_id": self.run_id})

    def mark(self, status: str, reason: str | None = None) -> bool:
        """Set RUN_FILE in the run's folder, if it exists (keeping what else it says); True when written."""
        folder = Path(self.checkpoint) if self.checkpoint else None
        if folder is None or not folder.is_dir():
            return False
        return mark_run_folder(folder, status, reason, run_id=self.run_id)

    def finish(self, summary: dict) -> dict:
        reason = summary["reason"]
        complete = reason in FINISHED_OK
        self.mark("complete" if complete else "stopped", reason)
        metrics = {k: summary.get(k) for k in ("reason", "steps", "best_val_ppl", "before_val_ppl", "params")}
        if metrics["before_val_ppl"] is None:  # a resumed run measured it in its first session
            metrics["before_val_ppl"] = self.earlier.get("before_val_ppl")
        metrics.update({k: summary[k] for k in EXTRA_METRICS if summary.get(k) is not None})
        if self.store is not None and not self._gone:
            from engine.history import NotFoundError

            where = {"checkpoint": self._stored()} if self.checkpoint else {}
            try:
                self.store.update_run(
                    self.run_id,
                    status="complete" if complete else "stopped",
                    metrics=metrics,
                    curves=self.curves,
                    duration_s=float(summary.get("train_minutes", 0) * 60),
                    **where,
                )
            except NotFoundError as exc:  # deleted while it trained: the model is on disk all the same
                self._record_gone(exc)
        if complete:
            self._drop_resumable_state()
        return {"run_id": self.run_id, "folder": self.checkpoint, "metrics": metrics, "curves": self.curves}

    def _drop_resumable_state(self) -> None:
        """A complete run is never resumed: its ``checkpoint/`` (weights and optimizer moments, about
        three times the model) goes; the model files beside it stay. Best effort."""
        if not self.checkpoint:
            return
        state = Path(self.checkpoint) / STATE_DIR
        if state.is_dir() and not state.is_symlink():
            try:
                shutil.rmtree(state)
            except OSError as exc:
                log.warning("run #%s: could not remove its resumable state %s (%s)", self.run_id, state, exc)

    def duration_s(self) -> float:
        """Training time so far: the trainer's own clock (it counts earlier sessions of a resumed
        run) where a progress point has it, else the time since this recorder started."""
        points = self.curves.get("train_loss") or []
        clock = float(points[-1][2]) if points and len(points[-1]) > 2 else 0.0
        return round(max(clock, time.monotonic() - self.started if not points else 0.0), 2)

    def fail(self, exc: Exception) -> None:
        """Record the error, keeping what the run measured before (a resume that failed at once must
        not erase the steps and best score of its earlier sessions). A new run that failed before
        writing anything leaves no empty folder: it was offered for Resume, which could only start
        over (desktop run_tab.resumable)."""
        folder = Path(self.checkpoint) if self.checkpoint else None
        busy = folder is not None and folder_in_use(folder) is not None  # another process trains it
        if not self.resumed and not busy and folder is not None and folder.is_dir():
            with contextlib.suppress(OSError):  # only a folder with nothing but RUN_FILE (and a lock left)
                if {p.name for p in folder.iterdir()} <= {RUN_FILE, LOCK_FILE}:
                    (folder / RUN_FILE).unlink(missing_ok=True)
                    (folder / LOCK_FILE).unlink(missing_ok=True)
                    folder.rmdir()
        if not busy:  # that process's RUN_FILE says how its run goes
            self.mark("error", type(exc).__name__)
        if self.store is not None and self.run_id is not None and not self._gone:
            from engine.history import NotFoundError

            metrics = {k: v for k, v in self.earlier.items() if k != "failed_at_step"}
            metrics["error"] = str(exc)
            points = self.curves.get("train_loss") or []
            if self._progressed and points:
                metrics["failed_at_step"] = points[-1][0]
            where = {"checkpoint": self._stored()} if self.checkpoint else {}
            try:
                self.store.update_run(
                    self.run_id,
                    status="error",
                    metrics=metrics,
                    curves=self.curves,
                    duration_s=self.duration_s(),
                    **where,
                )
            except NotFoundError as gone:
                self._record_gone(gone)
            except Exception:  # noqa: BLE001 - the original error is what the user must see
                pass
