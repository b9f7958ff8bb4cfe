"""Which stored messages are the bot's own replies (for its self-repeat penalty), and the turns the
model reads (alternating by role, as in the corpora)."""

from desktop.chat_ops import bot_replies, model_turns

THREAD = [
    {"role": "user", "text": "hi"},
    {"role": "bot", "text": "Hello!"},
    {"role": "user", "text": "what do you like?"},
    {"role": "bot", "text": ""},  # stopped before its first word
    {"role": "user", "text": "are you there?"},
    {"role": "user", "text": "hello?"},  # sent while no model was loaded: unanswered
]


def test_bot_replies_follow_roles_not_positions():
    assert bot_replies(THREAD) == ["Hello!"]
    assert bot_replies([]) == []


def test_model_turns_merge_one_roles_messages_in_a_row():
    turns, cut = model_turns(THREAD, 1000)
    # the messages after the empty reply join the unanswered question: the last turn is the user's,
    # the one before it the bot's, as the speaker markers assume
    assert turns == ["hi", "Hello!", "what do you like? are you there? hello?"] and not cut
    turns, cut = model_turns(THREAD, 12)
    assert turns == ["here? hello?"] and cut
