"""self_repeat_penalty: decoding steers away from its own earlier outputs, softly, and a chat bot
applies it to its own replies only."""

import pytest
import torch

from engine.decoding import DecodeOptions, avoid_map, decode
from engine.dialogue.bot import ChatBot

BOS, EOS, V = 1, 2, 6
# next-token logits by the last token: after BOS "3" is likelier than "4", after 3 comes 4, after 4 EOS
TABLE = {
    BOS: [0.0, 0.0, -5.0, 5.0, 3.0, 0.0],
    3: [0.0, 0.0, 1.0, -5.0, 5.0, 0.0],
    4: [0.0, 0.0, 6.0, 0.0, -5.0, 0.0],
}


def step(tokens, state):
    rows = [TABLE.get(int(t), [0.0, 0.0, 6.0, 0.0, 0.0, 0.0]) for t in tokens]
    return torch.tensor(rows), state, {}


def _run(penalty, avoid, method="greedy"):
    opts = DecodeOptions(method=method, beam_size=2, repetition_penalty=1.0, block_ngram=0, ban_unk=False)
    opts.self_repeat_penalty = penalty
    state = {"h": torch.zeros(1, 1)}
    return decode(step, state, batch=1, bos=BOS, eos=EOS, options=opts, avoid=avoid)[0][0].tokens


def test_avoid_map_keys_openings_and_word_pairs():
    assert avoid_map([[3, 4], [3, 5, 4]]) == {-1: {3}, 3: {4, 5}, 5: {4}}
    assert avoid_map(None) == {}


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_penalty_steers_away_from_an_earlier_output(method):
    assert _run(0.0, [[3, 4]], method) == [3, 4]  # off: the likeliest path
    assert _run(3.0, None, method) == [3, 4]  # nothing to avoid
    assert _run(3.0, [[3, 4]], method) == [4]  # the opening "3" now loses to "4"


def test_penalty_is_soft():
    # a penalty of 1 lowers "3" from 5 to 4 (still above "4" at 3) and "4" after "3" from 5 to 4
    # (still above EOS at 1): a confident continuation survives, as a word split in pieces must
    assert _run(1.0, [[3, 4]]) == [3, 4]


def test_negative_penalty_is_refused():
    with pytest.raises(ValueError, match="self_repeat_penalty"):
        DecodeOptions.from_dict({"self_repeat_penalty": -1})


@pytest.fixture
def avoid_spy(monkeypatch):
    """The ``avoid`` list of every decode() call the bot makes, in order."""
    import engine.dialogue.bot as bot_module

    seen, real = [], bot_module.decode

    def spy(*args, **kwargs):
        seen.append(kwargs.get("avoid"))
        return real(*args, **kwargs)

    monkeypatch.setattr(bot_module, "decode", spy)
    return seen


def test_bot_avoids_its_own_replies_not_the_users(tiny_dialogue_model, avoid_spy, monkeypatch):
    import engine.dialogue.bot as bot_module
    from engine.dialogue.data import prep

    # the tiny model learnt its one-message dialogues as they are: no opening exchange before them
    monkeypatch.setattr(bot_module, "opened", lambda turns: turns)
    bot = ChatBot.load(tiny_dialogue_model)
    plain = DecodeOptions(method="greedy", repetition_penalty=1.0, block_ngram=0, self_repeat_penalty=0.0)
    strong = DecodeOptions(method="greedy", repetition_penalty=1.0, block_ngram=0, self_repeat_penalty=20.0)
    # no earlier reply of its own: the penalty changes nothing, even where the user's words recur
    first = bot.reply(["what is your name"], strong).text
    assert first == bot.reply(["what is your name"], plain).text
    assert first.lower().rstrip(".") == "my name is parlance"
    seen = avoid_spy
    turns = [
        "hello there",
        "Hi, how are you?",
        "do you like music",
        "Yes I love jazz.",
        "who is your favourite",
    ]
    bot.reply(turns, strong)
    # the bot's replies, most recent first, in the model's lower-case form; never the user's turns
    assert seen[-1] == [bot.tok.encode(prep(turns[3])), bot.tok.encode(prep(turns[1]))]
    # a caller that knows the roles says which replies were the bot's (the desktop's stored thread)
    bot.reply(["hello there", "do you like music", "who is your favourite"], strong, own_replies=["Hi!", " "])
    assert seen[-1] == [bot.tok.encode("hi!")]


def test_default_is_on_for_every_options_dict_and_off_at_zero():
    # a settings dict saved before the option existed (or built from DecodeOptions()) gets it on
    assert (
        DecodeOptions().self_repeat_penalty
        == DecodeOptions.from_dict({"method": "beam"}).self_repeat_penalty
        > 0
    )
    assert _run(0.0, [[3, 4]]) == [3, 4]


def test_an_empty_reply_merges_the_users_turns_around_it(tiny_dialogue_model, avoid_spy):
    """The CLI keeps a reply that said nothing as an empty turn: the model must still see alternating
    turns (the user's two messages as one), and the user's words are never taken for the bot's."""
    from engine.dialogue.bot import alternating
    from engine.dialogue.data import prep

    assert alternating(["hi", "hello!", "where do you live", " ", "hello?"]) == [
        "hi",
        "hello!",
        "where do you live hello?",
    ]
    bot = ChatBot.load(tiny_dialogue_model)
    seen = avoid_spy
    strong = DecodeOptions(method="greedy", self_repeat_penalty=20.0)
    reply = bot.reply(["hi", "hello!", "where do you live", "", "hello?"], strong)
    assert seen[-1] == [bot.tok.encode(prep("hello!"))]
    assert reply.turn_labels[-1].startswith("you: where do you live")
    assert reply.turn_labels[-2] == "bot: hello!"
    merged = bot.reply(["hi", "hello!", "where do you live hello?"], strong)
    assert merged.text == reply.text and merged.context_tokens == reply.context_tokens


def test_extreme_sampling_values_decode_instead_of_crashing():
    """--temperature 1e-40 or --repetition-penalty 1e-40 made the probabilities inf/nan and
    torch.multinomial raised; a seed past 64 bits failed deep in torch (bug hunt)."""
    import pytest
    import torch

    from engine.decoding import DecodeOptions, decode

    table = torch.randn(12, 12)

    def step(tokens, state):
        return table[tokens], state, {}

    for opts in (
        DecodeOptions(method="sample", temperature=1e-40, seed=1, max_len=8),
        DecodeOptions(method="sample", repetition_penalty=1e-40, seed=1, max_len=8),
        DecodeOptions(method="greedy", repetition_penalty=1e40, max_len=8),
    ):
        hyp = decode(step, {}, batch=1, bos=0, eos=1, options=opts)[0][0]
        assert all(0 <= t < 12 for t in hyp.tokens)
    greedy = decode(step, {}, batch=1, bos=0, eos=1, options=DecodeOptions(max_len=8, block_ngram=0))[0][0]
    cold = DecodeOptions(method="sample", temperature=1e-40, top_p=1.0, max_len=8, block_ngram=0, seed=3)
    assert decode(step, {}, batch=1, bos=0, eos=1, options=cold)[0][0].tokens == greedy.tokens  # the limit
    with pytest.raises(ValueError, match="seed"):
        DecodeOptions(seed=2**70).validate()


def test_a_beam_or_length_beyond_any_use_is_refused():
    """`engine chat --method beam --beam-size 100000` ran out of memory instead of an error."""
    import pytest

    from engine.decoding import MAX_BEAM, MAX_LEN, DecodeOptions

    assert DecodeOptions.from_dict({"beam_size": MAX_BEAM, "max_len": MAX_LEN}).beam_size == MAX_BEAM
    for bad in ({"beam_size": 100_000}, {"max_len": 10**9}):
        with pytest.raises(ValueError, match="at most"):
            DecodeOptions.from_dict(bad)
