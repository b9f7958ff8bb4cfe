"""Model folders edited or damaged outside Parlance: every loader gives an error naming the file,
before any big allocation — never a traceback from deep inside torch, and never another model's
tokenizer used silently (bug hunt on copies of the shipped models)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from engine.checkpoint import CheckpointError
from engine.paths import default_model


def _copy(tmp_path, name: str):
    folder = tmp_path / name
    shutil.copytree(default_model(name), folder)
    return folder


def _edit(folder, **changes) -> None:
    path = folder / "config.json"
    meta = json.loads(path.read_text())
    for key, value in changes.items():
        if key in ("config", "extra"):
            meta[key] = value
        else:
            meta["config"][key] = value
    path.write_text(json.dumps(meta))


def _loaders():
    from engine.caption.model import load as load_captioner
    from engine.dialogue.bot import ChatBot
    from engine.summarize.abstractive import Abstractor

    return {
        "dialogue": lambda f: ChatBot.load(f, "cpu"),
        "summarizer": lambda f: Abstractor.load(f, "cpu"),
        "captioner": lambda f: load_captioner(f),
    }


HIDDEN = {"dialogue": "dec_hidden", "summarizer": "dec_hidden", "captioner": "hidden_dim"}


@pytest.mark.parametrize("name", ["dialogue", "summarizer", "captioner"])
def test_edited_sizes_and_types_are_named_before_the_model_is_built(tmp_path, name):
    load = _loaders()[name]
    field = HIDDEN[name]
    cases = [
        ({field: 10**9}, "sizes"),  # would ask for a terabyte
        ({field: 6000}, "sizes do not match"),  # would build a 1 GB model first
        ({field: -5}, "config.json"),
        ({field: "256"}, f"{field} must be a int"),
        ({"config": []}, "'config' must be an object"),
        ({"extra": "x"}, "'extra' must be an object"),
    ]
    for changes, message in cases:
        folder = _copy(tmp_path / str(len(list(tmp_path.iterdir()))), name)
        _edit(folder, **changes)
        t0 = time.perf_counter()
        with pytest.raises(CheckpointError, match=message) as err:
            load(folder)
        assert str(folder) in str(err.value) and time.perf_counter() - t0 < 20


def test_another_models_weights_or_a_truncated_file_are_named(tmp_path):
    from engine.summarize.abstractive import Abstractor

    folder = _copy(tmp_path, "summarizer")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors: damaged or truncated"):
        Abstractor.load(folder, "cpu")


def test_the_chat_model_refuses_another_models_tokenizer(tmp_path):
    """With the summarizer's tokenizer the chat model answered fluent nonsense ('T a thee in,s')."""
    from engine.dialogue.bot import ChatBot

    folder = _copy(tmp_path, "dialogue")
    shutil.copy(default_model("summarizer") / "tokenizer.model", folder / "tokenizer.model")
    with pytest.raises(CheckpointError, match="the tokenizer has 6000 pieces, the model 4000"):
        ChatBot.load(folder, "cpu")
