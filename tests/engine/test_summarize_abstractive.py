"""The abstractive summarizer: pointer-generator maths, training, decoding, CLI and evaluation."""

from __future__ import annotations

import json

import pytest
import torch
from summarizer_fixtures import tiny_pairs

from engine.checkpoint import CheckpointError
from engine.cli import main
from engine.decoding import DecodeOptions
from engine.summarize.abstractive import Abstractor, default_options, rouge_l, summarize_text
from engine.summarize.pointer import PointerConfig, PointerGenerator, batch_tensors

SMALL = dict(vocab_size=50, emb_dim=8, enc_hidden=8, dec_hidden=12, attn_dim=8, dropout=0.0)


def _batch():
    pairs = [([5, 6, 7, 8, 9], [7, 8]), ([10, 11, 12], [10, 12, 13])]
    return batch_tensors(pairs, bos=2, eos=3)


@pytest.mark.parametrize("pointer", [True, False])
@torch.no_grad()
def test_each_step_is_a_distribution_and_attention_respects_padding(pointer):
    torch.manual_seed(0)
    m = PointerGenerator(PointerConfig(**SMALL, pointer=pointer)).eval()
    b = _batch()
    state = m.encode(b["src"], b["lengths"])
    tokens = torch.tensor([2, 2])
    for _ in range(3):
        probs, state, attn, cov_loss, p_gen = m._step(tokens, state)
        assert torch.allclose(probs.sum(-1), torch.ones(2), atol=1e-5)
        assert torch.allclose(attn.sum(-1), torch.ones(2), atol=1e-5)
        assert float(attn[1, 3:].abs().sum()) == 0.0  # padding of the 3-piece source gets nothing
        assert ((p_gen >= 0) & (p_gen <= 1)).all() and (pointer or bool((p_gen == 1).all()))
        tokens = probs.argmax(-1)
    assert torch.allclose(state["cov"].sum(-1), torch.full((2,), 3.0), atol=1e-4)  # coverage = sum of attn


@torch.no_grad()
def test_copy_mass_lands_on_the_source_ids():
    torch.manual_seed(0)
    m = PointerGenerator(PointerConfig(**SMALL)).eval()
    with torch.no_grad():
        m.gen_gate.bias.fill_(-30.0)  # p_gen ~ 0: pure copying
    b = _batch()
    state = m.encode(b["src"], b["lengths"])
    probs, *_ = m._step(torch.tensor([2, 2]), state)
    assert float(probs[0, [5, 6, 7, 8, 9]].sum()) == pytest.approx(1.0, abs=1e-5)
    assert float(probs[1, [10, 11, 12]].sum()) == pytest.approx(1.0, abs=1e-5)


@torch.no_grad()
def test_coverage_loss_is_zero_first_then_punishes_looking_twice():
    torch.manual_seed(0)
    m = PointerGenerator(PointerConfig(**SMALL)).eval()
    b = _batch()
    state = m.encode(b["src"], b["lengths"])
    _, state, attn1, cov1, _ = m._step(torch.tensor([2, 2]), state)
    assert torch.all(cov1 == 0)
    _, _, attn2, cov2, _ = m._step(torch.tensor([5, 5]), state)
    assert torch.allclose(cov2, torch.minimum(attn2, attn1).sum(-1))
    assert float(cov2.min()) > 0
    loss_cov, parts = m(b["src"], b["lengths"], b["tgt_in"], b["tgt_out"])
    m.cfg.coverage = False
    loss_plain, _ = m(b["src"], b["lengths"], b["tgt_in"], b["tgt_out"])
    assert float(parts["coverage"]) > 0 and float(loss_cov) > float(parts["nll"])
    assert float(loss_plain) != pytest.approx(float(loss_cov))


def test_the_tiny_model_overfits_its_training_pairs_and_copies_unseen_ones(tiny_summarizer_model):
    from engine.summarize.train import split_pairs

    train, val = split_pairs(tiny_pairs())
    ab = Abstractor.load(tiny_summarizer_model, device="cpu")

    def score(pairs):
        got = [ab.summarize(src, default_options(beam=1), n_best=1).text for _, src, _ in pairs]
        return sum(rouge_l(tgt, g) for (_, _, tgt), g in zip(pairs, got)) / len(pairs)

    assert score(train) > 0.85  # it overfits the tiny set
    # unseen sources: the copy mechanism writes their first words (a random model scores ~0)
    assert score(val) > 0.3
    log = json.loads((tiny_summarizer_model / "train_log.json").read_text())
    assert log["best_rouge_l"] == pytest.approx(score(val), abs=1e-6)  # the best model was kept


def test_summary_has_attention_per_piece_and_beam_1_is_greedy(tiny_summarizer_model):
    ab = Abstractor.load(tiny_summarizer_model, device="cpu")
    _, source, _ = tiny_pairs()[3]
    greedy = ab.summarize(source, DecodeOptions(method="greedy", max_len=12, repetition_penalty=1.0), 1)
    beam1 = ab.summarize(
        source, DecodeOptions(method="beam", beam_size=1, max_len=12, repetition_penalty=1.0), 1
    )
    assert greedy.text == beam1.text and greedy.pieces == beam1.pieces
    res = ab.summarize(source, default_options(beam=3), n_best=3)
    assert len(res.attention) == len(res.pieces) == len(res.p_gen) > 0
    for row in res.attention:
        assert len(row) == len(res.source_pieces) and sum(row) == pytest.approx(1.0, abs=1e-4)
    assert len(res.alternatives) == 2 and all(a["log_prob"] <= res.log_prob + 1e-6 for a in res.alternatives)
    words, src_words, rows = res.word_attention()
    assert " ".join(words).lower() == res.text.lower()
    assert len(rows) == len(words) and all(len(r) == len(src_words) for r in rows)
    assert sum(res.sentence_attention(3)) == pytest.approx(1.0)


def test_summary_object_scores_the_source_sentences(tiny_summarizer_model):
    ab = Abstractor.load(tiny_summarizer_model, device="cpu")
    text = "Ferry times\n\n" + tiny_pairs()[0][1]
    s = summarize_text(ab, text, beam=2, n_keywords=3)
    assert s.method == "abstractive" and len(s.sentences) == 1 and s.title == "Ferry times"
    assert len(s.scores) == len(s.source_sentences) == len(s.spans) >= 3
    assert sum(s.scores) == pytest.approx(1.0) and len(s.keywords) == 3
    att = s.extras["attention"]
    assert len(att["values"]) == len(att["rows"]) and len(att["values"][0]) == len(att["cols"])
    json.dumps(s.to_dict())  # the panel and history store it


def test_empty_text_and_bad_folders_are_clear_errors(tiny_summarizer_model, tmp_path):
    ab = Abstractor.load(tiny_summarizer_model, device="cpu")
    with pytest.raises(ValueError, match="no words"):
        ab.summarize("   \n ")
    with pytest.raises(CheckpointError):
        Abstractor.load(tmp_path)
    (tmp_path / "config.json").write_text((tiny_summarizer_model / "config.json").read_text())
    (tmp_path / "tokenizer.model").write_bytes((tiny_summarizer_model / "tokenizer.model").read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(Exception, match="safetensors|header|deserial|weights|Error"):
        Abstractor.load(tmp_path)


def test_training_resumes_from_its_checkpoint(tmp_path):
    from summarizer_fixtures import build_tiny_summarizer

    first = build_tiny_summarizer(tmp_path / "m", epochs=2)
    assert first.step > 0 and (tmp_path / "m" / "checkpoint").is_dir()
    from summarizer_fixtures import TINY_MODEL

    from engine.summarize.train import SummarizerTrainConfig, train_summarizer

    cfg = SummarizerTrainConfig(
        epochs=3, batch_size=8, lr=1e-2, patience=0, vocab_size=400, word_vectors=False,
        model={**TINY_MODEL, "max_source": 40, "max_target": 16},
    )  # fmt: skip
    again = train_summarizer(cfg, tmp_path / "m", pairs=tiny_pairs(), resume=True, log=lambda s: None)
    assert again.step > first.step and again.step == first.step * 3 // 2


def test_cli_summarize_abstractive_json(tiny_summarizer_model, tmp_path, capsys):
    f = tmp_path / "a.txt"
    f.write_text(tiny_pairs()[5][1], encoding="utf-8")
    code = main(
        ["summarize", str(f), "--method", "abstractive", "--model", str(tiny_summarizer_model), "--json"]
    )
    assert code == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["method"] == "abstractive" and len(rec["sentences"]) == 1 and rec["sentences"][0]
    assert len(rec["scores"]) == 3 and "alternatives" in rec
    assert "do not apply" not in capsys.readouterr().err
    args = ["summarize", str(f), "--method", "abstractive", "--model", str(tiny_summarizer_model)]
    args += ["--words", "9"]
    assert main(args) == 0 and "--words do not apply to the abstractive method" in capsys.readouterr().err
    assert main(["summarize", str(f), "--method", "abstractive", "--model", str(tmp_path / "none")]) != 0


def test_eval_scores_the_abstractive_model_against_headline_baselines(
    tiny_summarizer_model, tmp_path, capsys
):
    rows = [
        {"text": f"Headline {i}\n\n{src}", "summary": tgt} for i, (_, src, tgt) in enumerate(tiny_pairs(12))
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    args = ["eval", "summarize", "--data", str(data), "--format", "jsonl", "--split", "all", "--json"]
    args += ["--methods", "abstractive,lead-3,lead-10-words", "--model", str(tiny_summarizer_model)]
    pytest.importorskip("rouge_score")
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    table = res["methods"]
    assert set(table) == {"abstractive", "lead-3", "lead-10-words"} and res["n_examples"] == 12
    # the model learned to write the first five words: it beats both prefixes on ROUGE-L
    assert (
        table["abstractive"]["rougeLsum"] > table["lead-10-words"]["rougeLsum"] > table["lead-3"]["rougeLsum"]
    )


def test_noising_drops_and_swaps_words_but_keeps_their_pieces_whole():
    import random

    from engine.summarize.train import _noised
    from engine.text.tokenizer import SPK2_ID

    words = [[10 + i, 50 + i] for i in range(20)]  # each word two pieces
    rng = random.Random(3)  # (seed 0's first twenty draws happen all to be >= 0.25)
    out = _noised(words, rng, drop=0.25, limit=100)
    assert out[0] == SPK2_ID
    body = out[1:]
    pairs = [tuple(body[i : i + 2]) for i in range(0, len(body), 2)]
    assert all(b == a + 40 for a, b in pairs)  # no word was cut apart
    assert 8 <= len(pairs) < 20  # about a quarter dropped
    assert _noised([[7, 8]], random.Random(1), drop=1.0, limit=100) == [SPK2_ID, 7, 8]  # one word kept
    assert len(_noised(words, random.Random(2), drop=0.0, limit=5)) == 5


def test_denoising_run_marks_the_task_and_hides_the_task_piece(tmp_path):
    from summarizer_fixtures import TINY_MODEL

    from engine.summarize.train import SummarizerTrainConfig, train_summarizer

    cfg = SummarizerTrainConfig(
        epochs=2, batch_size=8, lr=1e-2, patience=0, vocab_size=400, word_vectors=False, denoise=30,
        model={**TINY_MODEL, "max_source": 40, "max_target": 80},
    )  # fmt: skip
    done = train_summarizer(cfg, tmp_path, pairs=tiny_pairs(), log=lambda s: None)
    from engine.summarize.train import split_pairs

    n_train = len(split_pairs(tiny_pairs())[0])
    assert done.step == 2 * -(-(n_train + 30) // 8)  # headline pairs and 30 denoising pairs per epoch
    ab = Abstractor.load(tmp_path, device="cpu")
    assert ab.model.cfg.task_prefix
    res = ab.summarize(tiny_pairs()[0][1], default_options(beam=2), n_best=1)
    assert "<u1>" not in res.source_pieces and res.source_pieces[0].startswith("\u2581")
    assert all(len(row) == len(res.source_pieces) for row in res.attention)
    assert len(res.piece_sentence) == len(res.source_pieces) and min(res.piece_sentence) == 0


def test_train_summarizer_command_with_denoising(tmp_path, capsys):
    rows = [
        {"text": f"Headline number {i}\n\n{src}", "summary": tgt}
        for i, (_, src, tgt) in enumerate(tiny_pairs())
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    args = ["train", "summarizer", "--data", str(data), "--format", "jsonl", "--out", str(tmp_path / "m")]
    args += ["--epochs", "1", "--vocab-size", "400", "--word-vectors", "off", "--denoise", "20", "--json"]
    args += [
        "--emb-dim",
        "16",
        "--enc-hidden",
        "16",
        "--dec-hidden",
        "16",
        "--attn-dim",
        "16",
        "--max-target",
        "80",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["steps"] > 0 and out["reason"] == "completed"
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["config"]["task_prefix"] is True and meta["extra"]["train"]["denoise"] == 20


def test_the_shipped_model_writes_a_headline_for_a_sample_article():
    from engine.paths import default_model

    folder = default_model("summarizer")
    assert (folder / "MODEL_CARD.md").is_file() and (folder / "model.safetensors").stat().st_size < 40e6
    ab = Abstractor.load(folder, device="cpu")
    text = (folder.parents[1] / "samples" / "article_ferry.txt").read_text(encoding="utf-8")
    s = summarize_text(ab, text, beam=4)
    words = s.sentences[0].split()
    assert 2 <= len(words) <= 24 and s.method == "abstractive"
    source_words = {w.lower().strip(".,'\"") for w in text.split()}
    assert any(w.lower().strip(".,'\"") in source_words for w in words)  # it writes about the article
    assert sum(s.scores) == pytest.approx(1.0) and s.scores[0] == max(s.scores)  # it reads the lead


def test_training_data_without_the_chosen_target_says_which_target_to_try(tmp_path):
    from engine.summarize.train import SummarizerTrainConfig, train_summarizer

    data = tmp_path / "s.jsonl"
    rows = [
        {"text": f"The ferry {i} sailed on time. Passengers were glad.", "summary": f"Ferry {i} sailed."}
        for i in range(12)
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cfg = SummarizerTrainConfig(data=str(data), fmt="jsonl", target="title", word_vectors=False)
    with pytest.raises(ValueError, match="12 example.*none has a title.*try --target summary"):
        train_summarizer(cfg, tmp_path / "m", log=lambda s: None)


@pytest.mark.parametrize(
    "text", ["one", "Test.", "hello", "今天天气很好。我们去公园散步。", "Сегодня хорошая погода."]
)
def test_the_shipped_model_never_writes_control_or_byte_pieces(text):
    """The copy mechanism could copy the task piece <u1> from the source ("One<u1> one one"), and
    single bytes of characters the vocabulary lacks decoded to '\ufffd' (bug hunt). A text in
    another script gets a note saying the headline is not meaningful."""
    from engine.paths import default_model
    from engine.summarize.abstractive import FOREIGN_NOTE

    ab = Abstractor.load(default_model("summarizer"), device="cpu")
    res = ab.summarize(text, default_options(beam=3), n_best=3)
    ids = [ab.tokenizer.piece_to_id(p) for p in res.pieces]
    assert not any(ab.tokenizer.is_special(i) for i in ids)
    for out in [res.text, *(a["text"] for a in res.alternatives)]:
        assert "<u1>" not in out and "\ufffd" not in out
    note = summarize_text(ab, text, beam=2).extras["note"]
    assert (note == FOREIGN_NOTE) == (text[0] in "今С")
