"""The `bench` command and its rnn bench, at toy sizes (the real figures live in docs/bench/rnn.md)."""

from __future__ import annotations

import argparse
import json

import pytest

from engine import bench


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--device", default=None)
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


TINY = ("--batch", "2", "--seq", "3", "--hidden", "4", "--repeats", "2", "--warmup", "0", "--device", "cpu")


def test_rnn_bench_json_covers_every_cell_and_the_raw_peers(capsys):
    assert bench.run(_args("rnn", *TINY, "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    names = [row["variant"] for row in result["rows"]]
    assert names[:4] == ["torch nn.GRU", "torch nn.LSTM", "gru", "lstm"]
    assert {"rnn", "irnn", "gru (loop)", "gru_cho", "lstm (loop)", "peephole_lstm", "cifg_lstm"} <= set(names)
    for row in result["rows"]:
        assert row["seq/s"] > 0 and row["ms/iter"] > 0
        assert row["goal"] or row["path"] == "raw torch"
    assert result["meta"]["batch"] == 2 and len(result["meta"]["times_s"]["gru"]) == 2


def test_rnn_bench_table_and_only_filter(capsys):
    assert bench.run(_args("rnn", *TINY, "--only", "torch nn.GRU,gru,gru_cho")) == 0
    out = capsys.readouterr().out
    assert "rnn bench" in out and "gru_cho" in out and "peephole_lstm" not in out
    assert "x nn.GRU" in out and "1.00x" in out


def test_bench_errors_are_clear():
    with pytest.raises(ValueError, match="unknown bench 'nope'; known: rnn"):
        bench.run(_args("nope"))
    with pytest.raises(ValueError, match="unknown rnn bench variant"):
        bench.run(_args("rnn", *TINY, "--only", "transformer"))
    with pytest.raises(ValueError, match="--batch must be >= 1"):
        bench.run(_args("rnn", "--batch", "0"))


def test_registry_entries_resolve():
    for name in bench.BENCHES:
        assert callable(bench.load_bench(name))
