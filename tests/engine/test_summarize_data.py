"""Evaluation data: the BBC layout and JSON Lines readers, reference splitting, the held-out split."""

import json

import pytest

from engine.summarize.baselines import RegexTokenizer, lead
from engine.summarize.data import is_test, load_examples, read_bbc, select_split, split_reference


def make_bbc(root, n=12):
    for i in range(n):
        cat = ("business", "tech")[i % 2]
        (root / "News Articles" / cat).mkdir(parents=True, exist_ok=True)
        (root / "Summaries" / cat).mkdir(parents=True, exist_ok=True)
        name = f"{i:03d}.txt"
        article = f"Headline {i}\n\nFirst sentence {i} is here. Second one costs \xa35m. Third one ends it.\n"
        (root / "News Articles" / cat / name).write_bytes(article.encode("latin-1"))  # a stray Latin-1 byte
        (root / "Summaries" / cat / name).write_text(
            f"First sentence {i} is here.Third one ends it.", encoding="utf-8"
        )
    (root / "News Articles" / "tech" / "999.txt").write_text("No summary for this one.\n", encoding="utf-8")


def test_read_bbc_layout(tmp_path):
    make_bbc(tmp_path / "bbc_news_summary")
    for root in (tmp_path / "bbc_news_summary", tmp_path):  # the folder itself or its parent
        examples = read_bbc(root)
        assert len(examples) == 12 and examples[0].id == "business/000.txt"
        assert examples[0].reference == ["First sentence 0 is here.", "Third one ends it."]
        assert "\u00a35m" in examples[0].text
    with pytest.raises(FileNotFoundError, match="News Articles"):
        read_bbc(tmp_path / "nowhere")


def test_split_is_deterministic_and_disjoint(tmp_path):
    make_bbc(tmp_path)
    examples = load_examples(tmp_path, "bbc")
    test, train = select_split(examples, "test"), select_split(examples, "train")
    assert len(test) + len(train) == len(examples) == len(select_split(examples, "all"))
    assert {e.id for e in test}.isdisjoint(e.id for e in train)
    assert [e.id for e in test] == [e.id for e in examples if is_test(e.id)]
    share = sum(is_test(f"cat/{i:03d}.txt") for i in range(2000)) / 2000
    assert 0.17 < share < 0.23
    with pytest.raises(ValueError, match="test"):
        select_split(examples, "dev")


def test_split_reference():
    assert split_reference("Profits rose 2% to $11.1bn.For the year, sales grew.") == [
        "Profits rose 2% to $11.1bn.",
        "For the year, sales grew.",
    ]
    assert split_reference('He said "no.""Yes," she said.') == ['He said "no."', '"Yes," she said.']
    assert split_reference("One line.\nTwo lines.") == ["One line.", "Two lines."]
    assert split_reference('Sold by Yugansk."The assets are here," he said.') == [
        "Sold by Yugansk.",
        'The assets are here," he said.',
    ]
    assert split_reference("It grew 3.5% in the U.K. market.") == ["It grew 3.5% in the U.K. market."]


def test_read_jsonl(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [
        {"text": "A b c. D e f.", "summary": "A b c."},
        {"text": "G h i. J k l.", "summary": ["J k l.", "G h i."]},
        {"text": "", "summary": "skipped"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    examples = load_examples(path, "jsonl")
    assert [e.reference for e in examples] == [["A b c."], ["J k l.", "G h i."]]
    assert load_examples(tmp_path, "jsonl")[0].id == examples[0].id  # a folder of .jsonl files
    path.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="d.jsonl:1"):
        load_examples(path, "jsonl")
    with pytest.raises(ValueError, match="known: bbc, jsonl"):
        load_examples(path, "csv")


def test_baseline_helpers():
    assert lead(["a", "b", "c", "d"], 3) == [0, 1, 2] and lead(["a"], 3) == [0]
    tok = RegexTokenizer()
    assert tok.to_words("Don't stop-loss £5m now.") == ["Don't", "stop-loss", "5m", "now"]
    assert tok.to_sentences("One. Two! Three?") == ["One.", "Two!", "Three?"]
