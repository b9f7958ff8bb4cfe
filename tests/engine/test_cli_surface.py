"""The command line as a whole (found in a bug hunt of every subcommand): usage errors instead of
silent surprises, JSON that every reader accepts, pipes, Ctrl+C and user files left alone."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from engine.cli import build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "caption", "--images", "x", "--captions", "y", "--limit", "-100"],
        ["eval", "caption", "--images", "x", "--captions", "y", "--beam", "0"],
        ["eval", "caption", "--images", "x", "--captions", "y", "--save", "no/such/folder/x.json"],
        ["train", "summarizer", "--data", "x", "--out", "o", "--limit", "-1000"],
        ["train", "summarizer", "--data", "x", "--out", "o", "--epochs", "0"],
        ["train", "dialogue", "--corpus", "x", "--out", "o", "--hierarchical", "Ture"],
        ["train", "dialogue", "--corpus", "x", "--out", "o", "--epochs", "-1"],
        ["forecast", "--csv", "x.csv", "--horizon", "5", "--seeds", "-1"],
        ["eval", "forecast", "--csv", "x.csv", "--horizon", "5", "--seeds", "0"],
        ["eval", "summarize", "--beam", "0"],
        ["history", "--db", "", "list"],
        ["history", "--db", ":memory:", "list"],
        ["chat", "hi", "--db", ""],
        ["inspect", "compare", "--lengths", "x"],
    ],
)
def test_bad_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_a_named_file_that_is_not_a_database_is_left_alone(tmp_path, capsys):
    """`history --db photo.png list` renamed the picture and put a new database in its place."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert main(["history", "--db", str(photo), "list"]) == 2
    assert "not a Parlance history database" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]
    assert photo.read_bytes().startswith(b"\x89PNG")


def test_a_read_only_database_is_a_clear_error():
    from engine.history import HistoryStore

    store = HistoryStore.open_in_memory()
    store._db.conn.execute("PRAGMA query_only = ON")  # every write fails as on a read-only file
    with pytest.raises(PermissionError, match="read-only"):
        store.create_conversation()


def test_json_output_never_holds_nan_or_infinity():
    from engine.cli_args import json_text

    text = json_text({"best_val_ppl": float("inf"), "curve": [1.0, float("nan")], "ok": 2})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {
        "best_val_ppl": None,
        "curve": [1.0, None],
        "ok": 2,
    }


def test_an_import_holding_nan_is_refused(tmp_path):
    from engine.history import HistoryStore

    store = HistoryStore.open_in_memory()
    cid = store.create_conversation(settings={"decoding": {"temperature": 0.7}})
    store.add_message(cid, "user", "hello")
    text = store.export_conversation(cid, "json").replace("0.7", "NaN")
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        store.import_conversation(text)


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    """`… | head -1` printed "error: [Errno 32] Broken pipe" and exited 2."""

    class Closed(io.StringIO):
        def write(self, _text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", Closed())
    assert main(["eval", "summarize", "--list-methods"]) == 141
    assert capsys.readouterr().err == ""


def test_the_first_ctrl_c_cancels_a_training_and_the_second_stops_it():
    from engine.cancel import interrupt_cancels

    with interrupt_cancels() as token:
        os.kill(os.getpid(), signal.SIGINT)
        assert token.cancelled  # the trainer saves a checkpoint and ends as "cancelled"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_list_methods_names_every_method_methods_takes(capsys):
    assert main(["eval", "summarize", "--list-methods"]) == 0
    names = capsys.readouterr().out.split()
    assert "abstractive" in names and "parlance-vectors" in names
