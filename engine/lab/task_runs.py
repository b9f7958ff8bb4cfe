"""Summarizer and captioner training runs for the Train panel, in the shape engine.lab.worker runs.

Each ``run_*_events`` takes JSON-able arguments, calls the task's own training function (the one
``python -m engine train …`` uses: ``engine.summarize.train.train_summarizer``,
``engine.caption.train.train_captioner``), passes its cancel token on and reports every trainer
event as a dict (see engine.dialogue.run.event_dict), after a ``start`` dict with the data and
model sizes. The model's parameter count is checked against free memory before any weight is
allocated (engine.memory). ``check_*_data`` read the data the way the run will, so that a file in
the wrong format fails before a run is recorded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

FEATURE_BYTES = 1280 * 7 * 7 * 2  # one image's cached float16 encoder features, held in memory
EXTRACT_EVERY_S = 0.1  # at most this many feature-extraction events per second


def _noop(_e: dict) -> None:
    return None


def _known(cls, values: dict, what: str) -> dict:
    """``values`` checked against dataclass ``cls``'s fields (ValueError naming the known ones)."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown {what} setting(s) {unknown}; known: {', '.join(sorted(names))}")
    return dict(values)


def _trainer_events(emit: Callable[[dict], None]):
    from engine.dialogue.run import event_dict

    return [lambda e: emit(event_dict(e))]


def _summary(done, metric: str, params: int, folder: str) -> dict:
    return {
        "reason": done.reason,
        "steps": done.step,
        "metric": metric,
        "best_metric": done.best_metric,
        "last": done.history[-1] if done.history else None,
        "params": params,
        "train_minutes": round(done.elapsed_s / 60, 2),
        "folder": folder,
    }


# -- summarizer ---------------------------------------------------------------------------------


def summarizer_format(path: str) -> str:
    """``jsonl`` for a file or a folder holding .jsonl files, else ``bbc`` (the BBC News layout)."""
    from engine.summarize.data import detect_format

    return detect_format(path)


def summarizer_config(values: dict):
    """A SummarizerTrainConfig from the panel's dict; ``fmt`` absent or "auto" is chosen from the
    path, ``target`` "auto" from the format (engine.summarize.data.DEFAULT_TARGET)."""
    from engine.summarize.data import DEFAULT_TARGET
    from engine.summarize.train import SummarizerTrainConfig

    cfg = SummarizerTrainConfig(**_known(SummarizerTrainConfig, values, "summarizer training"))
    if not cfg.data:
        raise ValueError("choose the training data: a BBC News Summary folder or a .jsonl file")
    if values.get("fmt", "auto") in ("", "auto"):
        cfg.fmt = summarizer_format(cfg.data)
    if cfg.target in ("", "auto"):
        cfg.target = DEFAULT_TARGET.get(cfg.fmt, "title")
    return cfg


TARGET_WORDS = {"title": "Headline (--target title)", "summary": "Reference summary (--target summary)"}


def summarizer_pairs(cfg) -> tuple[list, list, list]:
    """(all pairs, training pairs, validation pairs) of ``cfg.data``; ValueError when too few."""
    from engine.summarize.data import load_examples
    from engine.summarize.train import make_pairs, split_pairs

    examples = load_examples(cfg.data, cfg.fmt)
    pairs = make_pairs(examples, cfg.target)
    train, val = split_pairs(pairs)
    if not train or not val:
        # the message named no way out: say which setting has pairs to learn from
        other = "summary" if cfg.target == "title" else "title"
        o_train, o_val = split_pairs(make_pairs(examples, other)) if cfg.target in TARGET_WORDS else ([], [])
        hint = ""
        if o_train and o_val:
            hint = f'; set "Learn to write" to {TARGET_WORDS[other]}, which has enough'
        raise ValueError(
            f"{Path(cfg.data).name}: {len(pairs)} usable article/{cfg.target} pair(s); at least 2 outside "
            f"the held-out test split are needed to train{hint}"
        )
    return pairs, (train[: cfg.limit] if cfg.limit else train), val


def _summarizer_start_config(cfg, out_dir: str | None = None, resume: bool = False):
    """The PointerConfig of the model a fine-tuning run (``init_from``) starts from, read from its
    config.json only (no weights: a folder that is not a summarizer fails here, before a run is
    recorded); a resumed one reads its own record (engine.summarize.train.INIT_FILE). None for a
    run that trains a new model."""
    from engine import checkpoint
    from engine.summarize.pointer import KIND, SCHEMA_VERSION, PointerConfig
    from engine.summarize.train import INIT_FILE, start_model

    if resume and out_dir is not None and (Path(out_dir) / INIT_FILE).is_file():
        return start_model(cfg, out_dir, resume=True)["config"]  # the run's record: no weights read
    if not cfg.init_from:
        return None
    folder = Path(cfg.init_from)
    try:
        meta = checkpoint.read_config(folder, kind=KIND, max_schema=SCHEMA_VERSION)
        return checkpoint.config_from_dict(PointerConfig, meta["config"], folder / checkpoint.CONFIG_FILE)
    except ValueError as exc:
        raise ValueError(f"cannot fine-tune from {folder}: not a usable summarizer model ({exc})") from None


def check_summarizer_data(config: dict, resume: bool = False) -> dict:
    """The data's facts, read the way the run will; ``resume``: a recorded run continued from its
    folder, which needs neither ``init_from`` nor its starting folder (its record is in the run's
    folder), so the starting model is not checked."""
    cfg = summarizer_config(config)
    if not resume:
        _summarizer_start_config(cfg)
    pairs, train, val = summarizer_pairs(cfg)
    return {"format": cfg.fmt, "pairs": len(pairs), "train": len(train), "valid": len(val)}


def run_summarizer_events(
    config: dict,
    out_dir: str,
    device: str = "cpu",
    resume: bool = False,
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """Train (or resume) the pointer-generator summarizer into ``out_dir``; ROUGE-L selects the best.
    ``config["init_from"]`` (a summarizer model folder) fine-tunes that model instead: its
    architecture, tokenizer and weights (the form's sizes are not used)."""
    from engine.memory import check_fits, count_params, memory_errors
    from engine.summarize.pointer import PointerConfig, PointerGenerator
    from engine.summarize.train import train_summarizer

    emit = on_event or _noop
    cfg = summarizer_config(config)
    pairs, train, val = summarizer_pairs(cfg)
    mcfg = _summarizer_start_config(cfg, out_dir, resume)
    if mcfg is None:
        _known(PointerConfig, cfg.model, "summarizer model")
        mcfg = PointerConfig(vocab_size=cfg.vocab_size, **cfg.model)  # the vocabulary is at most this big
    n_params = count_params(lambda: PointerGenerator(mcfg))
    check_fits(n_params, device, "This summarizer")
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    emit(
        {
            "kind": "start",
            "train_examples": len(train),
            "valid_examples": len(val),
            "params": n_params,
            "steps_per_epoch": steps_per_epoch,
            "total_steps": steps_per_epoch * cfg.epochs,
            "metric": "rouge_l",
            "init_from": cfg.init_from or None,
        }
    )
    with memory_errors("Training the summarizer"):
        done = train_summarizer(
            cfg,
            out_dir,
            device=device,
            resume=resume,
            callbacks=_trainer_events(emit),
            cancel=cancel,
            log=lambda text: emit({"kind": "log", "text": text}),
            pairs=pairs,
        )
    return _summary(done, "rouge_l", n_params, str(out_dir))


# -- captioner ----------------------------------------------------------------------------------


def _caption_configs(config: dict):
    from engine.caption.config import CaptionerConfig, CaptionTrainConfig

    tcfg = CaptionTrainConfig(**_known(CaptionTrainConfig, config.get("train") or {}, "captioner training"))
    mcfg = CaptionerConfig(**_known(CaptionerConfig, config.get("model") or {}, "captioner model"))
    if tcfg.metric not in ("bleu_4", "cider", "val_loss"):
        raise ValueError(f"unknown metric {tcfg.metric!r}; known: bleu_4, cider, val_loss")
    return tcfg, mcfg


def _scst_setup(config: dict):
    """``config["scst_from"]`` (a captioner model folder) -> (ScstConfig, the folder's
    CaptionerConfig), or None for a run that trains a new captioner with cross-entropy."""
    if not config.get("scst_from"):
        return None
    from engine import checkpoint as ckpt
    from engine.caption.config import CaptionerConfig, ScstConfig

    scfg = ScstConfig(**_known(ScstConfig, config.get("scst") or {}, "self-critical training"))
    if scfg.metric not in ("bleu_4", "cider"):
        raise ValueError("self-critical runs keep the best model by BLEU-4 or CIDEr, not the validation loss")
    if scfg.samples < 2:
        raise ValueError("self-critical training needs at least 2 sampled captions per image")
    meta = ckpt.read_config(config["scst_from"], kind="captioner")  # names the file at fault
    return scfg, ckpt.config_from_dict(CaptionerConfig, meta["config"])


def check_caption_data(config: dict) -> dict:
    """Read the captions file and match it to the images folder, as training will."""
    from engine.caption import data as D
    from engine.extras import require_caption_metrics

    if not config.get("images") or not config.get("captions"):
        raise ValueError("choose an images folder and a captions file")
    require_caption_metrics()  # was found missing at the first validation, after all the work
    _caption_configs(config)
    _scst_setup(config)
    cs = D.with_images(D.read_captions(config["captions"]), config["images"])
    train, val = D.split(cs, "train"), D.split(cs, "val")
    if not train or not val:
        raise ValueError(
            f"{len(cs)} captioned image(s) found; training needs images in both the training and the "
            f"validation split (got {len(train)} and {len(val)}; about 1 image in 20 is set aside)"
        )
    return {
        "format": cs.format,
        "images": len(cs),
        "train": len(train),
        "valid": len(val),
        "missing": len(cs.missing),
        "words": len({w for refs in train.values() for c in refs for w in c.lower().split()}),
    }


def feature_cache_dir(out_dir: str | Path, resume: bool = False) -> Path:
    """Where a captioner run from the Train panel keeps its image features: one cache shared by
    every run of the data folder, ``<data folder>/cache/features`` (the entries are keyed by the
    image folder, the image list and the encoder: engine.caption.features.cache_key), so a second
    run on the same images extracts nothing and a run folder does not keep its own copy (31 KB an
    image: 254 MB for Flickr8k).

    The run only gets its folder: the panel's runs live in ``out_root = <data folder>/models``
    (desktop.paths.DataDir.user_models) and each run in a folder under it, so the data folder is
    the run folder's grandparent when its parent is named ``models``; with any other ``out_root``
    (a session without a data folder uses a temporary one) the cache goes in ``<out_root>/cache``.
    A run resumed from before the cache was shared keeps the ``features/`` in its own folder."""
    out = Path(out_dir)
    if resume and (out / "features").is_dir():
        return out / "features"
    root = out.parent
    base = root.parent if root.name == "models" else root
    return base / "cache" / "features"


class _Every:
    """Feature-extraction progress as ``extract`` events, at most one per ``seconds`` (the last one
    always: ``done == total``), named by split: ``splits`` maps an image count to its split's name."""

    def __init__(self, emit: Callable[[dict], None], seconds: float, splits: dict[int, str]) -> None:
        self.emit, self.seconds, self.last, self.splits = emit, seconds, 0.0, splits

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self.last >= self.seconds:
            self.last = now
            split = self.splits.get(int(total), "")
            self.emit({"kind": "extract", "done": int(done), "total": int(total), "split": split})


def run_captioner_events(
    config: dict,
    out_dir: str,
    device: str = "cpu",
    resume: bool = False,
    on_event: Callable[[dict], None] | None = None,
    cancel=None,
) -> dict:
    """Extract (cached) encoder features, then train the captioner into ``out_dir``.

    ``config``: ``images`` (folder), ``captions`` (file), ``train`` (CaptionTrainConfig fields),
    ``model`` (CaptionerConfig fields); or, to fine-tune a trained captioner with self-critical
    CIDEr-D training (engine.caption.scst), ``scst_from`` (its folder) and ``scst`` (ScstConfig
    fields). Resuming a run cancelled before training began (while features were extracted) starts
    it afresh in the same folder.
    """
    from engine.caption import scst as S
    from engine.caption.model import CaptionModel
    from engine.caption.train import TRAIN_STATE, train_captioner
    from engine.memory import check_fits, count_params, memory_errors

    emit = on_event or _noop
    tcfg, mcfg = _caption_configs(config)
    facts = check_caption_data(config)
    scst = _scst_setup(config)
    if scst is None:
        resume = resume and (Path(out_dir) / TRAIN_STATE).is_file()
        vocab = facts["words"] + 4  # an upper bound: words seen min_count times, plus the 4 specials
        shape = {**{f.name: getattr(mcfg, f.name) for f in fields(mcfg)}, "vocab_size": vocab}
        mcfg = type(mcfg)(**shape)
        batch, epochs, metric = tcfg.images_per_batch, tcfg.epochs, tcfg.metric
        what = "Training the captioner"
    else:
        scfg, mcfg = scst
        resume = resume and (Path(out_dir) / S.TRAIN_STATE).is_file()
        batch, epochs, metric = scfg.images_per_batch, scfg.epochs, scfg.metric
        what = "Self-critical training"
    n_params = count_params(lambda: CaptionModel(mcfg, pretrained_encoder=False))
    check_fits(n_params, device, "This captioner", extra_bytes=facts["images"] * FEATURE_BYTES)
    steps_per_epoch = math.ceil(facts["train"] / batch)
    splits = {facts["valid"]: "validation", facts["train"]: "training"}  # equal sizes: "training"
    emit(
        {
            "kind": "start",
            "train_examples": facts["train"],
            "valid_examples": facts["valid"],
            "params": n_params,
            "steps_per_epoch": steps_per_epoch,
            "total_steps": steps_per_epoch * epochs,
            "metric": metric,
            "scst_from": config.get("scst_from") or None,
        }
    )
    common = {
        "device": device,
        "resume": resume,
        "callbacks": _trainer_events(emit),
        "cancel": cancel,
        "log": lambda text: emit({"kind": "log", "text": text}),
        "extract_progress": _Every(emit, EXTRACT_EVERY_S, splits),
        "cache_dir": feature_cache_dir(out_dir, resume),
    }
    # the run's folder exists from the start: a run cancelled while the (shared) features are being
    # extracted wrote nothing in it, and a run whose folder is missing is refused on resume
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    data = (config["images"], config["captions"], out_dir)
    with memory_errors(what):
        try:
            if scst is None:
                done = train_captioner(*data, tcfg, mcfg, **common)
            else:
                done = S.train_scst(config["scst_from"], *data, scfg, **common)
        except InterruptedError:  # cancelled while extracting features: nothing trained yet
            return {"reason": "cancelled", "steps": 0, "metric": metric, "params": n_params}
    return _summary(done, metric, n_params, str(out_dir))
