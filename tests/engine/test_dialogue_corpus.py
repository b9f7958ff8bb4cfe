"""Corpus readers, turn merging and the deterministic split."""

import json

import pytest

from engine.dialogue import corpus as C


def test_chitchat_reader_merges_consecutive_messages(tmp_path):
    data = {
        "c1": {
            "messages": [
                [{"text": "hi", "sender": "a"}, {"text": "there", "sender": "a"}],
                [{"text": "hello", "sender": "b"}],
                [{"text": "bye", "sender": "b"}],
            ]
        },
        "c2": {"messages": [[{"text": "alone", "sender": "a"}]]},
    }
    p = tmp_path / "cc.json"
    p.write_text(json.dumps(data))
    ds = C.load_corpus(str(p))
    assert ds == [C.Dialogue("c1", ("hi there", "hello bye"))]


def test_chatterbot_dailydialog_text_and_json_readers(tmp_path):
    y = tmp_path / "greet.yml"
    y.write_text(
        "categories:\n- greetings\nconversations:\n- - Hello\n  - Hi there\n  - How are you?\n- - Only one\n"
    )
    assert C.load_corpus(str(y)) == [C.Dialogue("greet:0", ("Hello", "Hi there", "How are you?"))]
    dd = tmp_path / "dd.txt"
    dd.write_text("Hi . __eou__ Hello ! __eou__\nHow are you ? __eou__ Fine . __eou__ Good . __eou__\n")
    got = C.load_corpus(str(dd))
    assert [d.turns for d in got] == [("Hi .", "Hello !"), ("How are you ?", "Fine .", "Good .")]
    tx = tmp_path / "chat.txt"
    tx.write_text("a\nb\nc\n\n\nd\ne\n\nlonely\n")
    assert [d.turns for d in C.load_corpus(str(tx))] == [("a", "b", "c"), ("d", "e")]
    js = tmp_path / "mine.json"
    js.write_text(json.dumps([{"id": "x", "turns": ["one", "two"]}]))
    assert C.load_corpus(str(js)) == [C.Dialogue("x", ("one", "two"))]


def test_bad_corpus_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        C.load_corpus(str(tmp_path / "missing.txt"))
    b = tmp_path / "bin.txt"
    b.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(ValueError, match="binary"):
        C.load_corpus(str(b))
    j = tmp_path / "bad.json"
    j.write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        C.load_corpus(str(j))
    with pytest.raises(ValueError, match="known"):
        C.load_corpus(str(j), fmt="nope")


def test_csv_chat_exports_are_read_as_conversations_and_other_csvs_refused(tmp_path):
    rows = tmp_path / "chats.csv"
    rows.write_text(
        "Conversation_ID,Speaker,Text\n"
        "7,ann,hi there\n7,bob,hello\n7,bob,how are you?\n7,ann,fine\n"
        '8,ann,"one, two"\n8,bob,three\n9,ann,alone\n'
    )
    got = C.load_corpus(str(rows))
    assert [d.turns for d in got] == [("hi there", "hello how are you?", "fine"), ("one, two", "three")]
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("question\tanswer\nwhat is up\tnot much\nhow old are you\tten\n")
    assert [d.turns for d in C.load_corpus(str(tsv))] == [
        ("what is up", "not much"),
        ("how old are you", "ten"),
    ]
    excel = tmp_path / "excel.csv"  # Excel's "CSV UTF-8": a BOM, CRLF, a quoted message over two lines
    excel.write_bytes(
        '\ufeffconversation_id,speaker,text\r\n1,a,"first line\nsecond line"\r\n1,b,ok\r\n'.encode()
    )
    assert [d.turns for d in C.load_corpus(str(excel))] == [("first line second line", "ok")]  # not glued
    prices = tmp_path / "prices.csv"
    prices.write_text("date,close\n2020-01-01,3.5\n2020-01-02,3.6\n")
    with pytest.raises(ValueError, match="a CSV corpus needs a conversation column.*date, close"):
        C.load_corpus(str(prices))


def test_split_is_deterministic_and_roughly_proportional():
    ids = [f"conv-{i}" for i in range(4000)]
    parts = [C.split_of(i) for i in ids]
    assert parts == [C.split_of(i) for i in ids]
    assert 0.03 < parts.count("test") / 4000 < 0.07 and 0.03 < parts.count("valid") / 4000 < 0.07


def test_examples_use_the_last_context_turns():
    d = C.Dialogue("d", ("a", "b", "c", "d"))
    assert list(C.examples([d], 2)) == [(["a"], "b"), (["a", "b"], "c"), (["b", "c"], "d")]


def test_small_corpora_hold_dialogues_out_without_overlap():
    big = [C.Dialogue(f"c{i}", ("a", "b")) for i in range(400)]
    train, valid, last_only = C.train_valid(big)
    assert (train, valid) == (C.split(big, "train"), C.split(big, "valid")) and not last_only
    for n in (2, 3, 12, 30):  # a few of your own chats: the hash split may give "valid" none
        few = [C.Dialogue(f"h{i}", ("hi", f"hello {i}")) for i in range(n)]
        train, valid, last_only = C.train_valid(few)
        assert train and valid and not last_only
        assert not {d.id for d in train} & {d.id for d in valid}
        assert {d.id for d in train} | {d.id for d in valid} <= {d.id for d in few}
    test_id = next(f"t{i}" for i in range(1000) if C.split_of(f"t{i}") == "test")
    pair = [C.Dialogue(test_id, ("hi", "hello")), C.Dialogue("h1", ("hey", "yo"))]
    train, valid, _ = C.train_valid(pair)  # two chats suffice even when one hashes to "test"
    assert len(train) == len(valid) == 1 and {train[0].id, valid[0].id} == {test_id, "h1"}
    one = [C.Dialogue("h1", ("hi", "hello", "how are you", "fine"))]
    train, valid, last_only = C.train_valid(one)
    assert train[0].turns == ("hi", "hello", "how are you") and valid == one and last_only
    with pytest.raises(ValueError, match="at least two dialogues"):
        C.train_valid([C.Dialogue("h1", ("hi", "hello"))])


def test_a_parlance_export_is_read_as_the_shown_thread_with_turns_by_role(tmp_path):

    from engine.dialogue import corpus as C
    from engine.history import HistoryStore

    store = HistoryStore.open_in_memory()
    cid = store.create_conversation()
    u1 = store.add_message(cid, "user", "hi there", None)
    old = store.add_message(cid, "bot", "an older version", u1)
    store.add_message(cid, "user", "on the old branch", old)
    b1 = store.add_message(cid, "bot", "hello!", u1)  # regenerated: the version shown
    u2 = store.add_message(cid, "user", "where do you live?", b1)
    failed = store.add_message(cid, "bot", "partial", u2)
    store.update_message(failed, status="error")
    store.add_message(cid, "user", "hello?", failed)
    path = tmp_path / "chat.json"
    path.write_text(store.export_conversation(cid, "json"), encoding="utf-8")
    (d,) = C.read_json(path)
    assert d.turns == ("hi there", "hello!", "where do you live? hello?")


def test_a_chat_csv_with_a_message_longer_than_the_csv_field_limit_is_read(tmp_path):
    """One 200 KB message raised '_csv.Error: field larger than field limit (131072)' (bug hunt)."""
    from engine.dialogue.corpus import read_csv

    long = "word " * 40_000
    p = tmp_path / "chat.csv"
    p.write_text(f'conversation,sender,message\n1,a,"{long}"\n1,b,a short reply\n', encoding="utf-8")
    (dialogue,) = read_csv(p)
    assert len(dialogue.turns) == 2 and len(dialogue.turns[0]) > 131072


def test_a_folder_without_chatterbot_files_is_named_as_such(tmp_path):
    from engine.dialogue.corpus import load_corpus

    (tmp_path / "chat.csv").write_text("conversation,sender,message\n1,a,hi\n1,b,hello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="folder without chatterbot .yml files"):
        load_corpus(str(tmp_path))


def test_an_export_with_a_cycle_is_read_once_not_forever(tmp_path):
    """Duplicate message ids made the thread walk loop forever, memory growing (bug hunt)."""
    import json

    from engine.dialogue.corpus import read_json

    msgs = [
        {"role": "user", "text": "hi", "id": 1, "parent_id": None},
        {"role": "bot", "text": "yo", "id": 2, "parent_id": 1},
        {"role": "user", "text": "again", "id": 1, "parent_id": 2},
    ]
    p = tmp_path / "dup.json"
    p.write_text(json.dumps({"messages": msgs}), encoding="utf-8")
    (d,) = read_json(p)
    assert 1 <= len(d.turns) <= 3


def test_csv_ids_with_spaces_and_yaml_chatterbot_folders(tmp_path):
    """'1 ' and '1' were two conversations, so the rows of one were dropped; a folder of .yaml
    files passed the format check and then read nothing (bug hunt)."""
    from engine.dialogue.corpus import load_corpus, read_csv

    p = tmp_path / "t.csv"
    p.write_text("conversation_id,text\n1 ,hi\n1 ,hello there\n1 ,how are you\n2,a\n2,b\n", encoding="utf-8")
    assert sorted(len(d.turns) for d in read_csv(p)) == [2, 3]
    folder = tmp_path / "bot"
    folder.mkdir()
    (folder / "greetings.yaml").write_text("conversations:\n- - hi\n  - hello\n", encoding="utf-8")
    assert [d.turns for d in load_corpus(str(folder))] == [("hi", "hello")]


def test_utf16_files_and_non_text_turns(tmp_path):
    """A UTF-16 file (Notepad's "Unicode") was refused as binary; a null turn became the text
    "None"; one-turn DailyDialog files were called "not DailyDialog format" (bug hunt)."""
    import json

    from engine.dialogue.corpus import read_dailydialog, read_json, read_text

    p = tmp_path / "u16.txt"
    p.write_text("hello there\ngeneral kenobi\n", encoding="utf-16")
    assert [d.turns for d in read_text(p)] == [("hello there", "general kenobi")]
    j = tmp_path / "d.json"
    j.write_text(json.dumps([{"id": "a", "turns": ["hi", None, 5, "hello"]}]), encoding="utf-8")
    assert [d.turns for d in read_json(j)] == [("hi", "hello")]
    dd = tmp_path / "dd.txt"
    dd.write_text("only one turn __eou__\n", encoding="utf-8")
    with pytest.raises(ValueError, match="every dialogue has one turn"):
        read_dailydialog(dd)
