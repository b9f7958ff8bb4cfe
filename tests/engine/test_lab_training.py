"""engine.lab training: the language model, the dialogue run (= the CLI's), run records, the worker."""

from __future__ import annotations

import json
import math

import pytest
from dialogue_fixtures import TINY_DIALOGUES

from engine.cli import main
from engine.decoding import DecodeOptions
from engine.dialogue.run import DialogueRunConfig, history_dialogues, run_dialogue
from engine.history import HistoryStore
from engine.lab import embeddings as E
from engine.lab import jobs
from engine.lab.lm import LMConfig, LMTrainConfig, generate, human_or_model, load_lm, read_sentences, train_lm

TEXT = (
    "The cat sat on the mat. The dog sat on the log. A cat and a dog played in the park. "
    "The bird sang in the tree. My dog likes the park. The cat likes the warm mat. "
) * 6
SMALL_HRED = {
    "emb_dim": 8,
    "utt_hidden": 8,
    "ctx_hidden": 8,
    "dec_hidden": 8,
    "context_turns": 2,
    "dropout": 0.0,
}


@pytest.fixture(scope="module")
def lm_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    sentences = read_sentences(_write(folder.parent / "text.txt", TEXT))
    summary = train_lm(
        sentences, folder, LMConfig(emb_dim=8, hidden_size=16), LMTrainConfig(vocab_size=300, epochs=3)
    )
    return folder, summary


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def _corpus(tmp_path):
    return _write(tmp_path / "tiny.txt", "\n\n".join("\n".join(d) for d in TINY_DIALOGUES * 3) + "\n")


# -- language model --------------------------------------------------------------------------------
def test_language_model_trains_loads_generates_and_plays(lm_folder):
    folder, summary = lm_folder
    assert summary["reason"] == "completed" and summary["steps"] == 3 * math.ceil(34 / 32)
    assert math.isfinite(summary["best_val_ppl"]) and len(summary["history"]) == 3
    model, tok = load_lm(folder)
    opts = DecodeOptions(method="sample", seed=3, max_len=12)
    text = generate(model, tok, "the cat", opts)
    assert text.startswith("the cat") and text == generate(model, tok, "the cat", opts)  # seeded: repeatable
    game = human_or_model(model, tok, read_sentences(folder.parent / "text.txt"), seed=1)
    assert {game["a"], game["b"]} == {game["real"], game["generated"]}
    assert game[game["model_is"]] == game["generated"] and game["generated"].startswith(game["prompt"])


def test_language_model_resumes_from_its_checkpoint(tmp_path):
    sentences = read_sentences(_write(tmp_path / "t.txt", TEXT))
    cfg, run = LMConfig(emb_dim=8, hidden_size=8), LMTrainConfig(vocab_size=300, epochs=1)
    first = train_lm(sentences, tmp_path / "m", cfg, run)
    more = train_lm(sentences, tmp_path / "m", cfg, LMTrainConfig(vocab_size=300, epochs=2), resume=True)
    assert more["steps"] == 2 * first["steps"] and len(more["history"]) == 2


def test_text_files_that_cannot_be_used_get_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_sentences(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00\x81 binary")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_sentences(tmp_path / "bin.txt")
    with pytest.raises(ValueError, match="no sentences"):
        read_sentences(_write(tmp_path / "empty.txt", "  \n hi \n"))


def test_embedding_neighbours_and_projection(lm_folder):
    folder, _ = lm_folder
    model, tok = load_lm(folder)
    matrix = model.embed.weight.detach().numpy()
    near = E.model_neighbours(matrix, tok, "cat", k=4)
    assert len(near) == 4 and "cat" not in [w for w, _ in near]
    assert all(-1.0 <= s <= 1.0 for _, s in near) and [s for _, s in near] == sorted(
        (s for _, s in near), reverse=True
    )
    proj = E.projection(matrix, tok, ["cat", "dog", "park"])
    assert proj["words"] == ["cat", "dog", "park"] and len(proj["xy"]) == 3 and len(proj["xy"][0]) == 2
    assert len(E.gensim_neighbours(read_sentences(folder.parent / "text.txt"), "cat", k=3)) == 3
    with pytest.raises(ValueError):
        E.projection(matrix, tok, ["cat"])


def test_train_lm_cli(tmp_path, capsys):
    text = _write(tmp_path / "t.txt", TEXT)
    argv = [
        "train",
        "lm",
        "--text",
        str(text),
        "--out",
        str(tmp_path / "m"),
        "--epochs",
        "1",
        "--emb-dim",
        "8",
        "--hidden-size",
        "8",
        "--vocab-size",
        "300",
        "--json",
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reason"] == "completed"
    assert main(["inspect", "generate", "--model", str(tmp_path / "m"), "--text", "the dog", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["text"].startswith("the dog")
    outs = []
    for method in ("greedy", "greedy", "beam"):
        args = ["inspect", "generate", "--model", str(tmp_path / "m"), "--text", "the dog", "--json"]
        assert main([*args, "--method", method, "--beam-size", "3", "--max-len", "6"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0]["text"] == outs[1]["text"] and outs[0]["options"]["method"] == "greedy"
    assert outs[2]["options"]["method"] == "beam" and outs[2]["options"]["beam_size"] == 3
    assert all(len(o["text"].split()) <= 2 + 6 for o in outs)  # the seed and at most 6 pieces


# -- dialogue --------------------------------------------------------------------------------------
def test_dialogue_run_reaches_the_same_perplexity_as_the_cli(tmp_path, capsys):
    corpus = _corpus(tmp_path)
    argv = [
        "train",
        "dialogue",
        "--corpus",
        str(corpus),
        "--out",
        str(tmp_path / "cli"),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--eval-every",
        "5",
        "--vocab-size",
        "300",
        "--word-vectors",
        "none",
        "--patience",
        "0",
        "--json",
        "--device",
        "cpu",
    ]
    for key, value in SMALL_HRED.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cfg = DialogueRunConfig(
        corpus=str(corpus),
        epochs=2,
        batch_size=8,
        eval_every=5,
        vocab_size=300,
        word_vectors="none",
        patience=0,
        model=SMALL_HRED,
    )
    events = []
    lab = run_dialogue(cfg, tmp_path / "lab", callbacks=[events.append])
    assert lab["steps"] == cli["steps"]
    assert lab["best_val_ppl"] == pytest.approx(cli["best_val_ppl"], rel=0.02)  # the panel's target: ±2%
    assert any(type(e).__name__ == "EvaluationEvent" for e in events)
    # fine-tuning starts from that model (its tokenizer, config, weights) and measures "before" too
    tuned = run_dialogue(
        DialogueRunConfig(
            corpus=str(corpus), max_steps=5, eval_every=5, batch_size=8, init_from=str(tmp_path / "lab")
        ),
        tmp_path / "tuned",
    )
    assert tuned["before_val_ppl"] == pytest.approx(lab["best_val_ppl"], rel=1e-4)  # same weights, same data
    assert tuned["config"]["emb_dim"] == 8 and (tmp_path / "tuned" / "tokenizer.model").is_file()


def _history_store():
    store = HistoryStore.open_in_memory()
    cid = store.create_conversation()
    parent = None
    for i, text in enumerate(["hi there", "hello, how are you?", "fine thanks", "glad to hear it"]):
        parent = store.add_message(cid, "user" if i % 2 == 0 else "bot", text, parent)
        if text.startswith("glad"):
            store.update_message(parent, feedback=1)
    return store


def test_a_few_chats_are_split_so_before_and_after_are_measured_on_held_out_ones(tmp_path):
    from engine.dialogue import corpus as C

    chats = [C.Dialogue(f"h{i}", tuple(t)) for i, t in enumerate(TINY_DIALOGUES)]
    train, valid, _ = C.train_valid(chats)
    infos = []
    run_dialogue(
        DialogueRunConfig(
            corpus="history",
            max_steps=2,
            eval_every=2,
            batch_size=4,
            vocab_size=300,
            word_vectors="none",
            patience=0,
            model=SMALL_HRED,
        ),
        tmp_path / "m",
        dialogues=chats,
        on_info=infos.append,
    )
    start = next(i for i in infos if i["kind"] == "start")
    assert start["valid_dialogues"] == len(valid) >= 1 and start["train_dialogues"] == len(train)
    assert len(train) + len(valid) == len(chats)
    pairs = sum(len(d.turns) - 1 for d in valid)
    assert start["valid_examples"] == pairs  # every held-out reply, and nothing from training


def test_a_run_keeps_its_held_out_chats_when_it_resumes(tmp_path):
    from engine.dialogue import corpus as C
    from engine.dialogue.run import held_out_split

    chats = [C.Dialogue(f"h{i}", ("hi", f"hello {i}")) for i in range(3)]
    _, valid, _ = held_out_split(chats, tmp_path, resume=False)
    grown = chats + [C.Dialogue(f"n{i}", ("hey", f"yo {i}")) for i in range(40)]  # chats added since
    assert {d.id for d in C.train_valid(grown)[1]} != {d.id for d in valid}  # a fresh split moves
    train2, valid2, _ = held_out_split(grown, tmp_path, resume=True)
    assert [d.id for d in valid2] == [d.id for d in valid]
    held = {d.id for d in valid}
    assert {d.id for d in train2} == {d.id for d in grown if d.id not in held and C.split_of(d.id) != "test"}
    corpus = [C.Dialogue(f"c{i}", ("a", "b")) for i in range(200)]  # big enough for the hash split
    big = tmp_path / "big"
    big.mkdir()
    train, valid, _ = held_out_split(corpus, big, resume=False)
    train2, valid2, _ = held_out_split(corpus, big, resume=True)
    assert [d.id for d in train2] == [d.id for d in train] and [d.id for d in valid2] == [d.id for d in valid]
    assert not [d for d in train2 if C.split_of(d.id) == "test"]  # a resumed run never trains on test
    one_liked = [C.Dialogue("h1-4", ("hi", "hello", "how are you", "fine"))]
    with pytest.raises(ValueError, match="only one reply is rated up"):
        held_out_split(one_liked, last_turn_only=True)


def test_one_rated_reply_is_refused_before_a_run_is_recorded(tmp_path):
    store = _history_store()  # one conversation, one reply rated up
    with pytest.raises(ValueError, match="rate up at least two"):
        jobs.dialogue_job({"corpus": "history-liked"}, str(tmp_path), isolate=False, store=store)
    assert store.list_runs() == []


def test_a_resumed_run_keeps_its_before_perplexity():
    store = HistoryStore.open_in_memory()
    rec = jobs.RunRecorder(store, "dialogue", {}, "history", "cpu", "", None, None)
    rec.finish({"reason": "cancelled", "steps": 3, "before_val_ppl": 42.0, "best_val_ppl": 40.0})
    again = jobs.RunRecorder(store, "dialogue", {}, "history", "cpu", "", rec.run_id, None)
    again.finish({"reason": "completed", "steps": 9, "before_val_ppl": None, "best_val_ppl": 30.0})
    assert store.get_run(rec.run_id)["metrics"]["before_val_ppl"] == 42.0


def test_history_becomes_dialogues_and_liked_replies_only():
    store = _history_store()
    (whole,) = history_dialogues(store)
    assert whole.turns == ("hi there", "hello, how are you?", "fine thanks", "glad to hear it")
    (liked,) = history_dialogues(store, liked_only=True)
    assert liked.turns[-1] == "glad to hear it"
    with pytest.raises(ValueError, match="no conversations"):
        history_dialogues(HistoryStore.open_in_memory())
    with pytest.raises(ValueError, match="history is off"):
        history_dialogues(None)


def test_history_merges_messages_of_one_role_in_a_row_so_turns_alternate():
    store = HistoryStore.open_in_memory()
    cid = store.create_conversation()
    parent = None
    steps = [("user", "hi"), ("bot", "   "), ("user", "anyone there?")]
    steps += [("bot", "yes, hello"), ("user", "good")]
    for role, text in steps:  # a reply stopped before its first word, then the user wrote again
        parent = store.add_message(cid, role, text, parent)
        if text == "yes, hello":
            store.update_message(parent, feedback=1)
    (whole,) = history_dialogues(store)
    assert whole.turns == ("hi anyone there?", "yes, hello", "good")
    (liked,) = history_dialogues(store, liked_only=True)
    assert liked.turns == ("hi anyone there?", "yes, hello")


def test_dialogue_job_records_cancels_and_resumes_a_run(tmp_path):
    store = HistoryStore.open_in_memory()
    config = {
        "corpus": str(_corpus(tmp_path)),
        "epochs": 50,
        "max_steps": 30,
        "batch_size": 4,
        "eval_every": 5,
        "vocab_size": 300,
        "word_vectors": "none",
        "patience": 0,
        "model": SMALL_HRED,
    }
    seen = []

    class StopAtTen:
        @property
        def cancelled(self):
            return any(e.get("kind") == "progress" and e["step"] >= 10 for e in seen)

    out = jobs.dialogue_job(
        config, str(tmp_path), isolate=False, progress=seen.append, cancel=StopAtTen(), store=store
    )
    run = store.get_run(out["run_id"])
    assert (
        run["status"] == "stopped" and run["metrics"]["reason"] == "cancelled" and run["task"] == "dialogue"
    )
    assert seen[0] == {"kind": "heartbeat", "run_id": out["run_id"]}  # the app knows the run is live
    assert seen[1]["kind"] == "start" and run["curves"]["train_loss"][0][0] == 10 and run["curves"]["val_ppl"]
    done = jobs.dialogue_job({}, str(tmp_path), run_id=out["run_id"], isolate=False, store=store)
    run = store.get_run(out["run_id"])
    assert run["status"] == "complete" and run["metrics"]["steps"] == 30 and done["folder"] == out["folder"]
    assert [p[0] for p in run["curves"]["train_loss"]] == [10, 20, 30]
    assert jobs.runs_job(store=store)[0]["id"] == out["run_id"]


def test_bad_settings_fail_before_a_run_is_recorded(tmp_path):
    store = HistoryStore.open_in_memory()
    with pytest.raises(ValueError, match="unknown training setting"):
        jobs.dialogue_job({"corpus": "chitchat", "epochz": 3}, str(tmp_path), isolate=False, store=store)
    assert store.list_runs() == []


def test_language_model_job_in_a_worker_process(tmp_path):
    store = HistoryStore.open_in_memory()
    text = _write(tmp_path / "t.txt", TEXT)
    seen = []
    out = jobs.lm_train_job(
        str(text),
        str(tmp_path),
        {"emb_dim": 8, "hidden_size": 8},
        {"vocab_size": 300, "epochs": 1},
        progress=seen.append,
        store=store,
    )
    run = store.get_run(out["run_id"])
    assert run["status"] == "complete" and run["task"] == "lm" and run["metrics"]["best_val_ppl"] > 1
    assert {"eval", "finished"} <= {e["kind"] for e in seen}  # events relayed from the child process
    assert load_lm(out["folder"])[1].vocab_size <= 300


def test_a_paused_token_is_relayed_to_the_training_process(tmp_path):
    import threading
    import time

    from engine.cancel import CancelToken
    from engine.lab.worker import run_in_worker

    token = CancelToken()
    events, idle_calls, paused_at = [], [], []

    def on_event(e) -> None:
        events.append((time.monotonic(), e))
        if e["kind"] == "progress" and not paused_at:  # training is under way: pause it for 2 s
            paused_at.append(time.monotonic())
            token.pause()
            threading.Timer(2.0, token.resume).start()

    t0 = time.monotonic()
    summary = run_in_worker(
        "engine.lab.lm:train_lm_events",
        {
            "text_path": str(_write(tmp_path / "t.txt", TEXT)),
            "out_dir": str(tmp_path / "m"),
            "model": {"emb_dim": 8, "hidden_size": 8},
            "train": {"vocab_size": 300, "epochs": 3},
        },
        on_event,
        cancel=token,
        idle=lambda: idle_calls.append(time.monotonic()),
    )
    wall = time.monotonic() - t0
    assert summary["reason"] == "completed" and paused_at
    later = [t for t, e in events if e["kind"] in ("progress", "eval") and t > paused_at[0]]
    p = paused_at[0]  # events already on their way may still arrive; then nothing until resumed
    assert not [t for t in later if p + 0.5 < t < p + 1.8] and any(t >= p + 1.8 for t in later)
    finished = next(e for _, e in events if e["kind"] == "finished")
    assert finished["elapsed_s"] <= wall - 1.5  # the child's clock stood still meanwhile
    assert sum(paused_at[0] < t < paused_at[0] + 2.0 for t in idle_calls) >= 10  # the caller kept its turn


def test_worker_errors_keep_their_type_and_message(tmp_path):
    from engine.lab.worker import run_in_worker

    with pytest.raises(FileNotFoundError, match="text file not found"):
        run_in_worker(
            "engine.lab.lm:train_lm_events",
            {"text_path": str(tmp_path / "nope.txt"), "out_dir": str(tmp_path / "m")},
            lambda e: None,
        )


def test_a_sequence_length_beyond_the_lab_maximum_is_a_clear_error():
    """99999999999999999999 reached torch and showed a 40-line C++ stack trace (bug hunt)."""
    from engine.lab.compare import CompareConfig
    from engine.lab.tasks import MAX_LENGTH

    CompareConfig(task="parity", lengths=(MAX_LENGTH,)).validate()
    for too_long in (MAX_LENGTH + 1, 99999999999999999999):
        with pytest.raises(ValueError, match="at most 10,000"):
            CompareConfig(task="parity", lengths=(too_long,)).validate()


def test_a_new_run_never_writes_into_an_older_runs_folder_and_cut_off_runs_are_interrupted(tmp_path):
    """Bug hunt: run ids restart with a fresh history (a damaged database is moved aside), and a new
    run #1 wrote into the old run-0001 folder: it overwrote that model, or resumed its finished
    checkpoint and "completed" without training. A run the app was killed in stayed "running"."""
    old = tmp_path / "run-0001-dialogue-gru"
    old.mkdir()
    (old / "model.safetensors").write_bytes(b"the older model")
    store = HistoryStore.open_in_memory()
    rec = jobs.RunRecorder(store, "dialogue", {}, "corpus", "cpu", str(tmp_path), None, None)
    assert rec.run_id == 1
    assert rec.folder("dialogue-gru") == tmp_path / "run-0001-dialogue-gru-2"
    assert (old / "model.safetensors").read_bytes() == b"the older model"
    assert jobs.runs_job(store=store, live={1})[0]["status"] == "running"
    assert jobs.runs_job(store=store)[0]["status"] == "interrupted"


def test_settings_and_corpora_that_cannot_train_fail_before_a_run_is_recorded(tmp_path):
    """Bug hunt: 'dot' attention with the default sizes, or an empty corpus file, failed only in
    the run, leaving an error run, an empty folder and a Resume that could never work."""
    store = HistoryStore.open_in_memory()
    corpus = _corpus(tmp_path)
    with pytest.raises(ValueError, match="'dot' attention needs the decoder size"):
        jobs.dialogue_job(
            {"corpus": str(corpus), "model": {"attention": "dot"}}, str(tmp_path), isolate=False, store=store
        )
    empty = tmp_path / "empty.txt"
    empty.write_text("just one line\n")
    with pytest.raises(ValueError):
        jobs.dialogue_job({"corpus": str(empty)}, str(tmp_path), isolate=False, store=store)
    assert store.list_runs() == [] and not list(tmp_path.glob("run-*"))


def test_one_rated_first_reply_gets_the_rated_reply_message(tmp_path):
    """Bug hunt: with the rated reply on the first exchange the message spoke of dialogues and turns."""
    store = HistoryStore.open_in_memory()
    cid = store.create_conversation()
    uid = store.add_message(cid, "user", "hi there", None)
    store.update_message(store.add_message(cid, "bot", "hello!", uid), feedback=1)
    with pytest.raises(ValueError, match="only one reply is rated up"):
        jobs.dialogue_job({"corpus": "history-liked"}, str(tmp_path), isolate=False, store=store)


def test_latin1_corpora_are_read_and_binary_ones_refused(tmp_path):
    from engine.dialogue import corpus as C

    text = tmp_path / "latin1.txt"
    text.write_bytes("héllo there\nwhat a namé\n\nsecond one\nyes indeed\n".encode("cp1252"))
    dialogues = C.load_corpus(str(text), "text")
    assert dialogues[0].turns[0] == "héllo there"
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ValueError, match="b.txt"):
        C.load_corpus(str(binary), "text")


def test_cancel_while_the_data_is_prepared_stops_before_training(tmp_path):
    """Bug hunt: Cancel was ignored for about 30 s while the tokenizer and word vectors were made."""
    from engine.dialogue.run import make_config, run_dialogue

    class Cancelled:
        cancelled = True

    cfg = make_config({"corpus": str(_corpus(tmp_path)), "vocab_size": 300, "model": SMALL_HRED})
    out = run_dialogue(cfg, tmp_path / "run", cancel=Cancelled())
    assert out["reason"] == "cancelled" and out["steps"] == 0
    assert not (tmp_path / "run" / "tokenizer.model").exists()  # stopped before the tokenizer


def test_a_one_sentence_text_is_refused_before_a_language_model_run_is_recorded(tmp_path):
    store = HistoryStore.open_in_memory()
    one = _write(tmp_path / "one.txt", "Hello there world.")
    with pytest.raises(ValueError, match="at least two sentences"):
        jobs.lm_train_job(str(one), str(tmp_path), isolate=False, store=store)
    assert store.list_runs() == []


def test_embeddings_keep_the_neighbours_when_a_projected_word_is_unknown(lm_folder, tmp_path):
    folder, _ = lm_folder
    text = _write(tmp_path / "t.txt", TEXT)
    out = jobs.embeddings_job(str(folder), word="Cat", words=["cat", "zzqx"], text_path=str(text))
    assert out["model"] and out["gensim"] and out["gensim_word"] == "cat"  # gensim's words are lower case
    assert "projection" not in out and "zzqx" in out["projection_error"]


def test_generated_text_holds_no_control_pieces(lm_folder):
    from engine.lab.lm import load_lm

    folder, _ = lm_folder
    model, tok = load_lm(str(folder), "cpu")
    texts = [
        generate(model, tok, "The", DecodeOptions(method="sample", seed=s, max_len=30)) for s in range(20)
    ]
    for text in texts:
        assert not any(p in text for p in ("<sep>", "<u1>", "<u2>", "\ufffd")), text
