"""Heat-map labels of "Why this reply": tokenizer pieces, with a piece that continues a word marked
so that it does not read as a word with its first letters cut off."""

from desktop.widgets.attention_view import AttentionView, piece_labels


def test_piece_labels_mark_word_continuations():
    assert piece_labels([" weekend", "?"]) == ["weekend", "?"]
    assert piece_labels([" the", " w", "eekend"]) == ["the", "w", "-eekend"]
    assert piece_labels(["<u1>", " do", "'s", ","]) == ["you:", "do", "'s", ","]
    assert piece_labels(["<u2>", "no", "<u1>", "ok"]) == ["bot:", "no", "you:", "ok"]
    # digits and rare characters come after a bare space piece: the piece after it starts a word
    assert piece_labels([" i", " am", " ", "2", "5", " years"]) == ["i", "am", "·", "2", "-5", "years"]
    assert piece_labels([" ", "<0xC3>", "<0xBC>", "ber"]) == ["·", "<0xC3>", "<0xBC>", "-ber"]
    # a reply's first piece starts a word; a context cut to its last pieces may begin mid-word
    assert piece_labels(["yeah", " ok"]) == ["yeah", "ok"]
    assert piece_labels(["ekend", " ok"], first_starts_word=False) == ["-ekend", "ok"]
    assert piece_labels([]) == []


def test_view_labels_rows_and_columns_by_piece(qtbot):
    view = AttentionView()
    qtbot.addWidget(view)
    record = {
        "text": "yeah, weekend",
        "out_tokens": ["yeah", ",", " week", "end"],  # the first piece starts a word, space or not
        "context_tokens": ["<u1>", " do", " you", " w", "eekend", "?"],
        "context_turn": [0] * 6,
        "turn_labels": ["you: do you weekend?"],
        "word_attention": [[1 / 6] * 6 for _ in range(4)],
        "turn_attention": [[1.0] for _ in range(4)],
    }
    view.set_record(record)
    assert view.word_map.rows == ["yeah", ",", "week", "-end"]
    assert view.word_map.cols == ["you:", "do", "you", "w", "-eekend", "?"]
    assert view.turn_map.rows == view.word_map.rows


def test_a_label_with_a_line_break_is_drawn_on_one_line(qtbot):
    """A reply word such as "here:\\n```" was drawn on three lines over its neighbours' labels."""
    from desktop.widgets.attention_view import HeatMap, one_line

    assert one_line("here:\n\n```") == "here: ⏎ ⏎ ```"
    assert one_line("x" * 40) == "x" * 23 + "…"
    heat = HeatMap(col_px=14)
    qtbot.addWidget(heat)
    heat.set_data([[1.0], [0.5]], ["here:\n```", "def"], ["you: a\nb"])
    ticks = heat.plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in ticks] == ["here: ⏎ ```", "def"] and heat.bottom.labels == ["you: a ⏎ b"]
    assert heat.rows == ["here:\n```", "def"]  # the hover readout keeps the words as written
