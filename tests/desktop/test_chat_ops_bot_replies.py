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


def test_failed_replies_are_not_context():
    """A reply that failed mid-stream keeps its partial text in the thread for the person, but the
    model reads neither it nor counts it as its own reply (as training on the history does)."""
    thread = [
        {"role": "user", "text": "hi", "status": "complete"},
        {"role": "bot", "text": "Hello there, I", "status": "error"},
        {"role": "user", "text": "still there?", "status": "complete"},
    ]
    turns, cut = model_turns(thread, 1000)
    assert turns == ["hi still there?"] and not cut
    assert bot_replies(thread) == []
    stopped = [*thread[:1], {**thread[1], "status": "stopped"}, thread[2]]
    assert model_turns(stopped, 1000)[0] == ["hi", "Hello there, I", "still there?"]
    assert bot_replies(stopped) == ["Hello there, I"]
