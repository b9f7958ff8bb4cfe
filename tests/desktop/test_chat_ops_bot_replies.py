"""Which stored messages are the bot's own replies (for its self-repeat penalty)."""

from desktop.chat_ops import bot_replies


def test_bot_replies_follow_roles_not_positions():
    thread = [
        {"role": "user", "text": "hi"},
        {"role": "bot", "text": "Hello!"},
        {"role": "user", "text": "what do you like?"},
        {"role": "bot", "text": ""},  # stopped before its first word
        {"role": "user", "text": "are you there?"},
        {"role": "user", "text": "hello?"},  # sent while no model was loaded: unanswered
    ]
    assert bot_replies(thread) == ["Hello!"]
    assert bot_replies([]) == []
