"""A chat that opens with anything but a greeting is read after a greeting exchange (bot.OPENING):
nearly every training conversation opens with greetings, and the model answered realistic first
messages with "Hey!" (86 of 150 on chitchat's test split; the measurement is in the model card)."""

from __future__ import annotations

import pytest

from engine.dialogue.bot import ADDED, OPENING, ChatBot, opened


@pytest.mark.parametrize(
    "message", ["hi", "Hello there!", "hey, how's it going?", "Good morning :)", "helllo!!"]
)
def test_a_greeting_is_answered_as_it_is(message):
    assert opened([message]) == [message]


@pytest.mark.parametrize(
    "message", ["I'm nervous about my job interview tomorrow", "what is your name?", "highway 1"]
)
def test_another_first_message_is_read_after_the_opening(message):
    assert opened([message]) == [*OPENING, message]


def test_a_conversation_under_way_is_not_changed():
    turns = ["tell me a joke", "why?", "because"]
    assert opened(turns) == turns and opened(turns[:2]) == turns[:2]


def test_the_opening_turns_are_shown_as_added(tiny_dialogue_model):
    bot = ChatBot.load(tiny_dialogue_model)
    first = bot.reply(["what is your name?"])
    assert [label.endswith(ADDED) for label in first.turn_labels] == [True, True, False]
    later = bot.reply(["hi", "hey", "what is your name?"])
    assert not any(label.endswith(ADDED) for label in later.turn_labels)
