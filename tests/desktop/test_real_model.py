"""The window with the real chat engine (engine.dialogue.bot) and a tiny, really trained model."""

from __future__ import annotations

import pytest
from desktop_testkit import WAIT_MS, Running, send


@pytest.mark.slow  # the shared tiny_dialogue_model fixture trains a small model once per session
def test_real_model_replies_with_attention_in_the_window(qtbot, tmp_path, tiny_dialogue_model):
    from desktop.app import build_parser, create

    args = build_parser().parse_args(
        ["--data-dir", str(tmp_path / "data"), "--model", str(tiny_dialogue_model)]
    )
    window, service = create(args)  # the real loader, model finder and device probe
    qtbot.addWidget(window)
    window.show()
    run = Running(window, service, tmp_path / "data", None)
    try:
        service.start()
        qtbot.waitUntil(lambda: window.chat.model_state != "loading", timeout=60000)
        assert window.chat.model_state == "ready", window.chat.banner.label.text()
        assert window.status.device.text() == "Device: CPU"
        info = send(qtbot, run, "hello there", timeout=WAIT_MS * 4)
        assert info["status"] == "complete" and info["n_tokens"] > 0
        bot_id = run.chat.messages.order[-1]
        row = run.chat.messages.rows[bot_id]
        assert row.full_text().strip() and row.why_button.isEnabled()
        row.why_button.click()
        qtbot.waitUntil(lambda: run.chat.attention.record is not None, timeout=WAIT_MS)
        record = run.chat.attention.record
        n_out = len(record["out_tokens"])
        assert run.chat.attention.word_map.image.image.shape == (n_out, len(record["context_tokens"]))
        assert run.chat.attention.turn_map.image.image.shape == (n_out, len(record["turn_labels"]))
        stored = run.rows("SELECT text, status FROM messages WHERE id = ?", (bot_id,))[0]
        assert stored == {"text": row.full_text(), "status": "complete"}
    finally:
        service.shutdown()
        window.close()
