"""`python -m engine summarize` and `python -m engine eval summarize` through engine.cli.main."""

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "samples").glob("article_*.txt"))


def test_one_file_prints_one_sentence_per_line(capsys):
    assert main(["summarize", str(SAMPLES[0]), "--sentences", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    text = SAMPLES[0].read_text(encoding="utf-8")
    assert all(" ".join(line.split()) in " ".join(text.split()) for line in lines)


def test_keywords_line(capsys):
    assert main(["summarize", str(SAMPLES[0]), "--keywords", "4"]) == 0
    out = capsys.readouterr().out.strip().split("\n\n")
    assert len(out[0].splitlines()) == 3
    assert out[1].startswith("keywords: ") and len(out[1].split(", ")) == 4


def test_several_files_print_json_lines(capsys):
    assert main(["summarize", *map(str, SAMPLES[:2]), "--ratio", "0.2", "--keywords", "3"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["file"] for r in records] == [str(p) for p in SAMPLES[:2]]
    for r in records:
        assert {"file", "sentences", "scores", "keywords", "indices"} <= set(r)
        assert len(r["keywords"]) == 3 and len(r["sentences"]) == len(r["indices"]) >= 1
        assert len(r["scores"]) > len(r["sentences"])


def test_json_flag_with_one_file_and_word_budget(capsys):
    assert main(["summarize", str(SAMPLES[1]), "--words", "50", "--json"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert sum(len(s.split()) for s in record["sentences"]) <= 50


def test_stdin(monkeypatch, capsys):
    text = SAMPLES[2].read_text(encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))
    assert main(["summarize", "-", "--sentences", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["file"] == "-" and len(record["sentences"]) == 1


def test_abstractive_with_a_missing_model_is_a_clear_error(capsys, tmp_path):
    args = ["summarize", str(SAMPLES[0]), "--method", "abstractive", "--model", str(tmp_path / "gone")]
    assert main(args) == 2
    assert "gone" in capsys.readouterr().err


def test_unknown_method_and_variant(capsys):
    assert main(["summarize", str(SAMPLES[0]), "--method", "magic"]) == 2
    assert "textrank" in capsys.readouterr().err
    assert main(["summarize", str(SAMPLES[0]), "--variant", "magic"]) == 2
    assert "plain" in capsys.readouterr().err


def test_length_options_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["summarize", str(SAMPLES[0]), "--sentences", "2", "--words", "20"])
    assert exc.value.code == 2
    assert main(["summarize", str(SAMPLES[0]), "--ratio", "2"]) == 2
    assert "ratio" in capsys.readouterr().err


def test_bad_files_get_clear_errors_and_the_rest_still_run(tmp_path, capsys):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    html = tmp_path / "page.html"
    html.write_text(
        "<html><body><h1>Ferry news</h1><p>The ferry is back on Monday.</p>"
        "<p>Repairs cost twice the estimate.</p><script>alert(1)</script></body></html>",
        encoding="utf-8",
    )
    code = main(["summarize", str(binary), str(empty), str(html), str(tmp_path / "missing.txt")])
    captured = capsys.readouterr()
    assert code == 2
    records = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [r["file"] for r in records] == [str(binary), str(empty), str(html), str(tmp_path / "missing.txt")]
    assert (
        "PNG" in records[0]["error"]
        and "empty" in records[1]["error"]
        and "no such file" in records[3]["error"]
    )
    assert records[2]["sentences"] == ["The ferry is back on Monday.", "Repairs cost twice the estimate."]
    assert captured.err.count("error: ") == 3

    assert main(["summarize", str(binary)]) == 2
    assert "not text" in capsys.readouterr().err


def test_word_vectors_file(tmp_path, capsys):
    pytest.importorskip("gensim")
    text = SAMPLES[0].read_text(encoding="utf-8").lower()
    words = sorted(set(re.findall(r"[a-z]+", text)))
    rng = np.random.default_rng(0)
    lines = [f"{len(words)} 8"] + [w + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=8)) for w in words]
    vec = tmp_path / "tiny.txt"
    vec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["summarize", str(SAMPLES[0]), "--vectors", str(vec), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["sentences"]) == 3
    assert main(["summarize", str(SAMPLES[0]), "--vectors", str(tmp_path / "none.txt")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and err.count("error:") == 1


# -- eval ----------------------------------------------------------------------------------------


@pytest.fixture
def tiny_jsonl(tmp_path):
    rows = []
    for path in SAMPLES:
        text = path.read_text(encoding="utf-8")
        body = text.split("\n\n", 1)[1]
        first = body.split(". ")[0] + "."
        rows.append({"text": text, "summary": first})
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_eval_jsonl_with_lead_and_parlance(tiny_jsonl, capsys):
    pytest.importorskip("rouge_score")
    args = ["eval", "summarize", "--data", str(tiny_jsonl), "--format", "jsonl", "--split", "all"]
    assert main([*args, "--methods", "parlance-default,parlance-plain,lead-k,lead-3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_examples"] == 3 and result["split"] == "all"
    table = result["methods"]
    assert set(table) == {"parlance-default", "parlance-plain", "lead-k", "lead-3"}
    assert table["lead-k"]["rouge1"] == pytest.approx(1.0)  # the reference is the first sentence
    for row in table.values():
        assert 0.0 <= row["rouge2"] <= row["rouge1"] <= 1.0 and 0.0 <= row["rougeLsum"] <= 1.0
    assert main([*args, "--methods", "lead-k"]) == 0
    assert "| lead-k |" in capsys.readouterr().out


def test_eval_runs_sumy_offline(tiny_jsonl, capsys):
    pytest.importorskip("rouge_score")
    pytest.importorskip("sumy")
    methods = "sumy-textrank,sumy-lexrank,sumy-lsa,sumy-luhn,sumy-sumbasic"
    args = ["eval", "summarize", "--data", str(tiny_jsonl), "--format", "jsonl", "--split", "all"]
    assert main([*args, "--methods", methods, "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["methods"]
    assert set(table) == set(methods.split(",")) and all(r["rouge1"] > 0 for r in table.values())


def test_eval_errors(tmp_path, capsys):
    assert main(["eval", "summarize", "--data", str(tmp_path / "none"), "--format", "jsonl"]) == 2
    assert main(["eval", "summarize", "--data", str(tmp_path), "--format", "csv"]) == 2
    assert "bbc" in capsys.readouterr().err
    assert main(["eval", "summarize", "--data", str(tmp_path), "--methods", "nope"]) == 2
    assert "lead-3" in capsys.readouterr().err
    assert main(["eval", "summarize", "--list-methods"]) == 0
    assert "sumy-luhn" in capsys.readouterr().out
    assert main(["eval", "summarize"]) == 2
    assert "--data" in capsys.readouterr().err


def test_eval_on_an_empty_split_is_an_error_not_a_table_of_zeros(tiny_jsonl, tmp_path, capsys):
    pytest.importorskip("rouge_score")
    one = tmp_path / "one.jsonl"
    one.write_text(tiny_jsonl.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    codes = []
    for split in ("test", "train"):
        codes.append(main(["eval", "summarize", "--data", str(one), "--format", "jsonl", "--split", split]))
    assert sorted(codes) == [0, 2]  # the one example is in exactly one of the two splits
    err = capsys.readouterr().err
    assert "no examples in the" in err and "try --split all" in err
