"""Model folders damaged or edited outside Parlance (bug hunt, findings 2-6 and 9): each loader
checks config.json first and names the file at fault in a short message; a config.json may only
name files inside its own folder. Tiny untrained models are built here; the shipped ones are
never touched."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from engine.checkpoint import CheckpointError
from engine.decoding import DecodeOptions

TEXTS = [
    "hello there how are you",
    "i am fine thanks and you",
    "the ferry leaves the harbour at noon",
    "what time is it now",
    "my name is parlance and i like tea",
] * 20


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Three small untrained model folders: {"dialogue", "summarizer", "captioner"} -> folder."""
    import torch

    from engine import checkpoint
    from engine.caption import model as caption_model
    from engine.caption.decoder import CaptionerConfig
    from engine.caption.vocab import Vocab
    from engine.dialogue.model import HRED, HREDConfig
    from engine.dialogue.model import KIND as DIALOGUE
    from engine.dialogue.model import SCHEMA_VERSION as DIALOGUE_SCHEMA
    from engine.summarize.pointer import KIND, SCHEMA_VERSION, PointerConfig, PointerGenerator
    from engine.text.tokenizer import Tokenizer

    root = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    folders = {}
    folders["dialogue"] = root / "dialogue"
    tok = Tokenizer.train(TEXTS, folders["dialogue"], vocab_size=300, seed=0)
    cfg = HREDConfig(vocab_size=tok.vocab_size, emb_dim=8, utt_hidden=8, ctx_hidden=8, dec_hidden=8)
    extra = {"tokenizer": "tokenizer.model", "default_decoding": {"method": "greedy", "max_len": 7}}
    checkpoint.save(folders["dialogue"], DIALOGUE, DIALOGUE_SCHEMA, cfg, HRED(cfg).state_dict(), extra)

    folders["summarizer"] = root / "summarizer"
    tok.save(folders["summarizer"])
    pcfg = PointerConfig(vocab_size=tok.vocab_size, emb_dim=8, enc_hidden=8, dec_hidden=8, attn_dim=8)
    state = PointerGenerator(pcfg).state_dict()
    extra = {"tokenizer": "tokenizer.model"}
    checkpoint.save(folders["summarizer"], KIND, SCHEMA_VERSION, pcfg, state, extra)

    folders["captioner"] = root / "captioner"
    vocab = Vocab(["a", "dog", "runs"])
    ccfg = CaptionerConfig(vocab_size=len(vocab), region_dim=8, embed_dim=8, hidden_dim=8, attn_dim=8)
    captioner = caption_model.CaptionModel(ccfg, pretrained_encoder=False)
    caption_model.save(folders["captioner"], captioner, vocab)
    return folders


def _load(kind: str, folder):
    if kind == "dialogue":
        from engine.dialogue.bot import ChatBot

        return ChatBot.load(folder, "cpu")
    if kind == "summarizer":
        from engine.summarize.abstractive import Abstractor

        return Abstractor.load(folder, "cpu")
    from engine.caption.model import load

    return load(folder)


def _copy(tiny, kind: str, dest):
    folder = dest / kind
    shutil.copytree(tiny[kind], folder)
    return folder


def _edit(folder, section: str, **changes) -> None:
    path = folder / "config.json"
    meta = json.loads(path.read_text())
    meta[section].update(changes)
    path.write_text(json.dumps(meta))


# ---- 2. extra.default_decoding of the wrong type ---------------------------------------------------


def test_decode_options_from_something_not_an_object_is_a_value_error():
    for value in ("greedy", ["greedy"], 3):
        with pytest.raises(ValueError, match="decoding options must be an object"):
            DecodeOptions.from_dict(value)
    assert DecodeOptions.from_dict(None) == DecodeOptions()


@pytest.mark.parametrize("value", ["greedy", ["greedy", 30], {"max_len": "x", "method": "warp"}])
def test_bad_default_decoding_is_ignored_with_a_warning_naming_config_json(tiny, tmp_path, caplog, value):
    """A string crashed ChatBot.load (AttributeError: 'str' object has no attribute 'items'); the
    defaults are only suggestions and the weights are intact, so the chat model loads without them."""
    folder = _copy(tiny, "dialogue", tmp_path)
    _edit(folder, "extra", default_decoding=value)
    with caplog.at_level(logging.WARNING, logger="engine.dialogue.bot"):
        bot = _load("dialogue", folder)
    assert bot.default_options == DecodeOptions()
    assert f"{folder / 'config.json'}: extra.default_decoding ignored" in caplog.text
    assert bot.reply(["hello there"], DecodeOptions(max_len=3)).n_tokens <= 3


def test_good_default_decoding_is_kept_without_a_warning(tiny, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.dialogue.bot"):
        bot = _load("dialogue", tiny["dialogue"])
    assert (bot.default_options.method, bot.default_options.max_len) == ("greedy", 7)
    assert not caplog.records


# ---- 3. weights of another kind of model -----------------------------------------------------------


@pytest.mark.parametrize(
    "kind,other", [("dialogue", "captioner"), ("summarizer", "captioner"), ("captioner", "dialogue")]
)
def test_another_kind_of_models_weights_give_a_short_message(tiny, tmp_path, kind, other):
    """Dialogue and summarizer put torch's ~2,000-character "Missing key(s) in state_dict" list in
    the chat banner and the CLI."""
    folder = _copy(tiny, kind, tmp_path)
    shutil.copy(tiny[other] / "model.safetensors", folder / "model.safetensors")
    with pytest.raises(CheckpointError) as err:
        _load(kind, folder)
    message = str(err.value)
    assert message.startswith(f"{folder / 'model.safetensors'} does not match config.json (")
    assert "missing tensors: " in message and "unexpected tensors: " in message
    assert message.endswith("restore the model folder or reinstall Parlance")
    assert len(message) < 300 + len(str(folder)) and "state_dict" not in message


def test_one_extra_tensor_in_the_weights_is_named(tiny, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(tiny, "summarizer", tmp_path)
    state = load_file(folder / "model.safetensors")
    state["stray.weight"] = state["out.bias"].clone()
    save_file(state, folder / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"config.json \(1 unexpected tensor: stray.weight\)"):
        _load("summarizer", folder)


# ---- 4. sizes in config.json ------------------------------------------------------------------------

SIZE_CASES = [
    ("captioner", "image_size", 0, r"image_size must be a positive number \(got 0\)"),
    ("captioner", "image_size", -224, r"image_size must be a positive number \(got -224\)"),
    ("captioner", "image_size", 100_000, r"image_size must be between 32 and 1024 \(got 100000\)"),
    ("captioner", "max_len", 0, r"max_len must be a positive number \(got 0\)"),
    ("captioner", "fine_tune_blocks", -1, r"fine_tune_blocks must be between 0 and 15 \(got -1\)"),
    ("dialogue", "dec_layers", 0, r"dec_layers must be a positive number \(got 0\)"),
    ("dialogue", "context_turns", -2, r"context_turns must be a positive number \(got -2\)"),
    ("dialogue", "max_reply_tokens", 0, r"max_reply_tokens must be a positive number \(got 0\)"),
    ("dialogue", "history_turns", -1, r"history_turns must be at least 0 \(got -1\)"),
    ("summarizer", "max_target", 0, r"max_target must be a positive number \(got 0\)"),
    ("summarizer", "max_source", 1, r"max_source must be at least 2 \(got 1\)"),
]


@pytest.mark.parametrize("kind,field,value,message", SIZE_CASES)
def test_a_bad_size_is_named_in_config_json_before_the_weights_are_read(
    tiny, tmp_path, kind, field, value, message
):
    """image_size 0 loaded, and then every image was "cannot decode image (division by zero)"."""
    folder = _copy(tiny, kind, tmp_path)
    _edit(folder, "config", **{field: value})
    (folder / "model.safetensors").unlink()  # config.json is checked first
    with pytest.raises(CheckpointError, match=f"^{folder / 'config.json'}: {message}$"):
        _load(kind, folder)


# ---- 5. an empty or damaged tokenizer.model ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["dialogue", "summarizer"])
def test_an_empty_tokenizer_is_empty_or_damaged_with_nothing_on_stderr(tiny, tmp_path, capfd, kind):
    """0 bytes gave "id 0 must be '<pad>' (retrain it with Tokenizer.train)" and absl lines."""
    folder = _copy(tiny, kind, tmp_path)
    (folder / "tokenizer.model").write_bytes(b"")
    with pytest.raises(ValueError) as err:
        _load(kind, folder)
    assert str(err.value) == (
        f"{folder / 'tokenizer.model'} is empty or damaged; restore the model folder or reinstall Parlance"
    )
    assert capfd.readouterr().err == ""


def test_a_truncated_tokenizer_message_has_no_sentencepiece_internals(tiny, tmp_path):
    folder = _copy(tiny, "dialogue", tmp_path)
    data = (folder / "tokenizer.model").read_bytes()
    (folder / "tokenizer.model").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="tokenizer.model is damaged or not a sentencepiece model") as err:
        _load("dialogue", folder)
    assert "INTERNAL" not in str(err.value) and ".cc(" not in str(err.value)


# ---- 6. vocab_size and the tokenizer disagree ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["dialogue", "summarizer"])
def test_a_negative_vocab_size_is_blamed_on_config_json(tiny, tmp_path, kind):
    """It was "tokenizer.model: the tokenizer has 4000 pieces, the model -5": the wrong file."""
    folder = _copy(tiny, kind, tmp_path)
    _edit(folder, "config", vocab_size=-5)
    with pytest.raises(CheckpointError, match="vocab_size must be a positive number") as err:
        _load(kind, folder)
    assert str(err.value).startswith(str(folder / "config.json")) and "tokenizer" not in str(err.value)


@pytest.mark.parametrize("kind", ["dialogue", "summarizer"])
def test_sizes_that_disagree_name_both_files(tiny, tmp_path, kind):
    from engine.text.tokenizer import Tokenizer

    folder = _copy(tiny, kind, tmp_path)
    other = Tokenizer.train(TEXTS, tmp_path / "other", vocab_size=290, seed=0)
    assert other.vocab_size != json.loads((folder / "config.json").read_text())["config"]["vocab_size"]
    other.save(folder)
    with pytest.raises(CheckpointError) as err:
        _load(kind, folder)
    message = str(err.value)
    assert str(folder / "tokenizer.model") in message and str(folder / "config.json") in message
    assert f"the tokenizer has {other.vocab_size} pieces" in message


# ---- 9. files named in config.json stay inside the model folder ---------------------------------------

OUTSIDE = ["/ABS", "../outside", "sub/inside", "..", "", 5]
NAMED = {"dialogue": ("tokenizer", "tokenizer.model"), "summarizer": ("tokenizer", "tokenizer.model")}
NAMED["captioner"] = ("vocab", "vocab.json")


@pytest.mark.parametrize("kind", ["dialogue", "summarizer", "captioner"])
@pytest.mark.parametrize("name", OUTSIDE)
def test_config_json_may_only_name_a_file_in_the_model_folder(tiny, tmp_path, kind, name):
    """ "/etc/passwd" or "../../x" were read (the summarizer ignored extra.tokenizer altogether);
    here each points at a valid copy of the file outside the folder, which loaded before."""
    key, default = NAMED[kind]
    folder = _copy(tiny, kind, tmp_path)
    shutil.copy(folder / default, tmp_path / "outside")
    (folder / "sub").mkdir()
    shutil.copy(folder / default, folder / "sub" / "inside")
    if name == "/ABS":
        name = str(tmp_path / "outside")
    _edit(folder, "extra", **{key: name})
    with pytest.raises(CheckpointError) as err:
        _load(kind, folder)
    assert str(err.value) == (
        f"{folder / 'config.json'}: extra.{key} must be a file in the model folder (got {name!r})"
    )


@pytest.mark.parametrize("kind", ["dialogue", "summarizer", "captioner"])
def test_another_plain_file_name_in_the_folder_is_used(tiny, tmp_path, kind):
    key, default = NAMED[kind]
    folder = _copy(tiny, kind, tmp_path)
    (folder / default).rename(folder / "renamed.bin")
    _edit(folder, "extra", **{key: "renamed.bin"})
    assert _load(kind, folder) is not None
