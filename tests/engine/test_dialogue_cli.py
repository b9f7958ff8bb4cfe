"""The dialogue commands end to end on a tiny corpus: train (with resume), eval, chat with --db."""

import json

import pytest
from dialogue_fixtures import TINY_DIALOGUES

from engine.cli import main
from engine.history import HistoryStore

TINY = [
    "--emb-dim",
    "16",
    "--utt-hidden",
    "16",
    "--ctx-hidden",
    "24",
    "--dec-hidden",
    "24",
    "--vocab-size",
    "300",
    "--batch-size",
    "8",
    "--eval-every",
    "20",
    "--word-vectors",
    "word2vec",
    "--threads",
    "1",
]


def _corpus(tmp_path):
    path = tmp_path / "chats.txt"
    path.write_text("\n\n".join("\n".join(d) for d in TINY_DIALOGUES * 3) + "\n")
    return path


def test_train_resume_eval_and_chat(tmp_path, capsys):
    corpus, out = _corpus(tmp_path), tmp_path / "model"
    assert (
        main(
            [
                "train",
                "dialogue",
                "--corpus",
                str(corpus),
                "--out",
                str(out),
                "--max-steps",
                "20",
                "--json",
                *TINY,
            ]
        )
        == 0
    )
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["steps"] == 20 and first["reason"] == "step_budget"
    assert (out / "config.json").is_file() and (out / "tokenizer.model").is_file()
    assert (out / "checkpoint" / "trainer_state.json").is_file()
    # resume continues the step count from the checkpoint
    assert (
        main(
            [
                "train",
                "dialogue",
                "--corpus",
                str(corpus),
                "--out",
                str(out),
                "--max-steps",
                "30",
                "--resume",
                "--json",
                *TINY,
            ]
        )
        == 0
    )
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["steps"] == 30
    # without --resume a folder holding a model is not replaced unless asked
    fresh = ["train", "dialogue", "--corpus", str(corpus), "--out", str(out), "--max-steps", "2", *TINY]
    assert main(fresh) == 2
    assert "already holds a model" in capsys.readouterr().err
    assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == 30

    # fine-tuning starts from the trained weights, config and tokenizer (model flags are ignored)
    tuned = tmp_path / "tuned"
    args = ["train", "dialogue", "--corpus", str(corpus), "--out", str(tuned), "--max-steps", "2", "--json"]
    assert main([*args, "--init-from", str(out), *TINY, "--dec-hidden", "8"]) == 0
    ft = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (
        json.loads((tuned / "config.json").read_text())["config"]
        == json.loads((out / "config.json").read_text())["config"]
    )
    assert (tuned / "tokenizer.model").read_bytes() == (out / "tokenizer.model").read_bytes()
    # it starts where the trained model left off (a fresh model starts near the vocabulary size, 300)
    assert ft["before_val_ppl"] <= again["best_val_ppl"] * 1.05 < 250

    assert (
        main(["eval", "dialogue", "--model", str(out), "--data", str(corpus), "--split", "all", "--json"])
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    for key in (
        "per_token_perplexity",
        "per_word_perplexity",
        "distinct_1",
        "distinct_2",
        "mean_reply_length",
        "top_reply_share",
        "n_targets",
    ):
        assert key in res
    assert res["n_targets"] == 3 * sum(len(d) - 1 for d in TINY_DIALOGUES)
    assert res["per_word_perplexity"] > 1.0

    db = tmp_path / "history.db"
    assert main(["chat", "--model", str(out), "--db", str(db), "--json", "hello there"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert isinstance(reply["reply"], str)
    store = HistoryStore(db)
    (conv,) = store.list_conversations()
    roles = [m["role"] for m in store.messages(conv["id"])]
    store.close()
    assert roles == ["user", "bot"]


def test_bad_corpus_and_empty_message(tmp_path, capsys, tiny_dialogue_model):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["train", "dialogue", "--corpus", str(bad), "--out", str(tmp_path / "m"), *TINY]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    for invisible in ("  ", "\u200b", "\u200b\u2060 \ufeff"):  # zero-width characters only: empty too
        assert main(["chat", "--model", str(tiny_dialogue_model), invisible]) == 2
        assert "empty message" in capsys.readouterr().err
    folder = tmp_path / "corpus_dir"
    folder.mkdir()
    assert (
        main(
            [
                "eval",
                "dialogue",
                "--model",
                str(tiny_dialogue_model),
                "--data",
                str(folder),
                "--format",
                "text",
            ]
        )
        == 2
    )
    assert "is a folder" in capsys.readouterr().err
    one = tmp_path / "one.txt"
    one.write_text("hello there\nhi! how are you?\n")
    args = ["eval", "dialogue", "--model", str(tiny_dialogue_model), "--data", str(one), "--format", "text"]
    assert main(args) == 2
    assert "try --split all" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--sources", "0"])
    assert "expected 1 or more" in capsys.readouterr().err


def test_chat_db_records_a_conversation_only_when_something_was_said(
    tmp_path, monkeypatch, capsys, tiny_dialogue_model
):
    """Every `chat --db` run recorded an empty conversation, also when nothing was typed; the
    settings are stored the way the desktop reads them ({"decoding": …}) (bug hunt)."""
    import io

    db = tmp_path / "h.db"
    for _ in range(2):
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert main(["chat", "--model", str(tiny_dialogue_model), "--db", str(db)]) == 0
    assert main(["chat", "--model", str(tiny_dialogue_model), "--db", str(db), "  "]) == 2
    store = HistoryStore(db)
    assert store.list_conversations() == []
    store.close()
    assert main(["chat", "--model", str(tiny_dialogue_model), "--db", str(db), "hello"]) == 0
    store = HistoryStore(db)
    (conv,) = store.list_conversations()
    assert set(store.get_conversation(conv["id"])["settings"]) == {"decoding"}
    store.close()


def test_piped_messages_with_blank_lines_between_are_all_answered(monkeypatch, capsys, tiny_dialogue_model):
    """A blank line ended piped input: the messages after it were dropped without a word."""
    import io
    import json

    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n\nhow are you\n   \nbye\n"))
    assert main(["chat", "--model", str(tiny_dialogue_model), "--json"]) == 0
    replies = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(replies) == 3 and all("reply" in r for r in replies)
