"""auto's combination policies: members, weights, combined bounds, the reason text, and the dates
each backtest origin sees."""

import numpy as np
import pandas as pd
import pytest

from engine.forecast import methods as methods_mod
from engine.forecast.auto import AutoConfig, choose_with_forecasts, combine
from engine.forecast.backtest import backtest
from engine.forecast.methods import fit_forecast
from engine.forecast.result import Prediction


def flat(level: float, half: float = 1.0, h: int = 4) -> Prediction:
    """A flat forecast at ``level`` with 80% half-width ``half`` and 95% half-width ``2 * half``."""
    m = np.full(h, level)
    return Prediction(m, m - half, m + half, m - 2 * half, m + 2 * half)


def inner_setup(levels: dict[str, float], truth: float = 10.0, h: int = 4):
    """One inner origin where method X forecast flat at ``levels[X]``; the history's naive MAE is 1,
    so each method's inner MASE is exactly ``|level - truth|``."""
    history = np.arange(20.0)  # lag-1 steps of 1: the MASE scale is 1
    actual = np.full(h, truth)
    preds = {name: [flat(v)] for name, v in levels.items()}
    return [actual], [history], preds


LEVELS = {"a": 10.5, "b": 11.0, "c": 12.0, "d": 14.0, "e": 30.0}  # inner MASE 0.5, 1, 2, 4, 20


@pytest.mark.parametrize(
    ("over", "members", "how"),
    [
        ({"policy": "within", "trim": 1.0}, ["a", "b"], "mean"),
        ({"policy": "within", "trim": 3.0}, ["a", "b", "c"], "mean"),
        ({"policy": "best_k", "k": 1}, ["a"], "mean"),
        ({"policy": "best_k", "k": 3}, ["a", "b", "c"], "mean"),
        ({"policy": "median"}, ["a", "b", "c", "d", "e"], "median"),
        ({"policy": "median_k", "k": 3}, ["a", "b", "c"], "median"),
        ({"policy": "drop_worst"}, ["a", "b", "c", "d"], "mean"),
        ({"policy": "trimmed"}, ["a", "b", "c", "d", "e"], "trimmed"),
        ({"policy": "inverse"}, ["a", "b", "c", "d", "e"], "mean"),
    ],
)
def test_policies_choose_members_from_inner_scores(over, members, how):
    choice = choose_with_forecasts(*inner_setup(LEVELS), season=1, cfg=AutoConfig(**over))
    assert choice.members == members and choice.how == how
    # the reason names every inner score, best first, and every member combined
    assert "backtest MASE over 1 origin(s): a 0.500, b 1.000, c 2.000, d 4.000, e 20.000" in choice.reason
    assert all(m in choice.reason.split(";")[-1] for m in members)
    if len(members) == 1:
        assert choice.reason.endswith("; chose a: the one method the best_k policy keeps here")


def test_within_names_a_lone_winner_and_why():
    levels = {"a": 10.5, "b": 12.0, "c": 30.0}  # MASE 0.5, 2, 20: only a is within 2x
    choice = choose_with_forecasts(*inner_setup(levels), season=1, cfg=AutoConfig())
    assert choice.members == ["a"]
    assert choice.reason.endswith("; chose a: every other method's error is over 2x its own")


def test_inverse_weights_are_one_over_mase_and_are_reported():
    choice = choose_with_forecasts(*inner_setup(LEVELS), season=1, cfg=AutoConfig(policy="inverse"))
    inv = 1 / np.array([0.5, 1, 2, 4, 20])
    np.testing.assert_allclose(choice.weights, inv / inv.sum())
    assert "a (0.53)" in choice.reason and "e (0.01)" in choice.reason


def test_combined_bounds_follow_the_rule():
    preds = [flat(v, half) for v, half in ((10, 1), (12, 3), (20, 2), (11, 1), (13, 5))]
    names = list("abcde")
    med = combine(preds, names, "median")
    np.testing.assert_allclose(med.mean, 12.0)
    np.testing.assert_allclose(med.lo80, np.median([9, 9, 18, 10, 8]))
    np.testing.assert_allclose(med.hi95, np.median([12, 18, 24, 13, 23]))
    trim = combine(preds, names, "trimmed")  # drop the lowest and highest of every bound
    np.testing.assert_allclose(trim.mean, np.mean([11, 12, 13]))
    np.testing.assert_allclose(trim.hi80, np.mean([12, 15, 18]))
    w = combine(preds[:2], names[:2], "mean", [0.75, 0.25])
    np.testing.assert_allclose(w.mean, 10.5)
    np.testing.assert_allclose(w.lo95, 0.75 * 8 + 0.25 * 6)
    assert w.info["combined"] == ["a", "b"] and w.info["weights"] == [0.75, 0.25]
    for p in (med, trim, w):  # combining keeps lo95 <= lo80 <= mean <= hi80 <= hi95
        assert np.all(p.lo95 <= p.lo80) and np.all(p.lo80 <= p.mean) and np.all(p.mean <= p.hi80)
        assert np.all(p.hi80 <= p.hi95)


def test_a_method_that_failed_at_an_inner_origin_is_never_combined():
    actuals, histories, preds = inner_setup(LEVELS)
    preds["a"] = [None]
    choice = choose_with_forecasts(actuals, histories, preds, season=1, cfg=AutoConfig(policy="median"))
    assert "a" not in choice.members and choice.members[0] == "b"


def test_unknown_policy_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown auto policy 'vote'.*median"):
        AutoConfig(policy="vote")


def probe(y, horizon, season, ctx):
    """A registered method that records the dates it is given."""
    probe.seen.append((y.size, None if ctx.dates is None else len(ctx.dates), ctx.dates[-1]))
    return Prediction.gaussian(np.full(horizon, y[-1]), np.ones(horizon))


def test_every_backtest_origin_sees_dates_that_end_with_its_history(monkeypatch):
    monkeypatch.setitem(methods_mod.METHODS, "probe", f"{__name__}:probe")
    probe.seen = []
    idx = pd.date_range("2020-01-06", periods=80, freq="D")
    y = pd.Series(np.random.default_rng(0).normal(size=80).cumsum() + 50, index=idx)
    opts = {"auto": {"candidates": ("probe", "naive"), "folds": 2, "policy": "median"}}
    bt = backtest(y, 7, methods=["probe", "auto"], folds=2, options=opts)
    assert {s[0] for s in probe.seen} == {52, 59, 66, 73}  # 2 outer + 2 inner origins, each fitted once
    for n_y, n_dates, last in probe.seen:
        assert n_dates == n_y and last == idx[n_y - 1]
    probe.seen = []
    fit_forecast(y, 7, "auto", options=opts)  # auto's own inner backtest, then the full series
    assert [(s[0], s[1]) for s in probe.seen] == [(66, 66), (73, 73), (80, 80)]
    assert all(last == idx[n - 1] for n, _, last in probe.seen)
    assert len(bt.auto_reasons) == 2


def test_default_auto_averages_the_candidates_within_2x_and_says_so():
    """The default (chosen on the development set): ets, arima, lstm, hybrid and linear backtested at
    2 inner origins, every one within 2x of the best averaged with equal weights; the reason is
    accurate."""
    from engine.forecast.auto import AutoConfig
    from engine.forecast.lstm_model import LSTMConfig

    cfg = AutoConfig()
    assert (cfg.candidates, cfg.policy, cfg.trim, cfg.folds) == (
        ("ets", "arima", "lstm", "hybrid", "linear"),
        "within",
        1.0,
        2,
    )
    t = np.arange(84)
    y = 30 + 0.1 * t + 4 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(3).normal(0, 0.4, 84)
    opts = {"lstm": LSTMConfig(seeds=1, epochs=4, hidden=4)}
    fc = fit_forecast(y, 6, "auto", season=12, options=opts)
    reason = fc.info["reason"]
    assert reason.startswith("backtest MASE over 2 origin(s): ") and "theta" not in reason
    scores = dict(part.rsplit(" ", 1) for part in reason.split(": ", 1)[1].split(";")[0].split(", "))
    assert set(scores) == {"ets", "arima", "lstm", "hybrid", "linear"}
    best = min(float(v) for v in scores.values())
    within = sorted(m for m, v in scores.items() if float(v) <= 2 * best)
    assert sorted(fc.info["chosen"]) == within and fc.info["policy"] == "within"
    # the forecast is the equal-weight mean of the chosen methods' own forecasts, bounds included
    members = [fit_forecast(y, 6, m, season=12, options=opts) for m in fc.info["chosen"]]
    for key in ("mean", "lo80", "hi95"):
        np.testing.assert_allclose(getattr(fc, key), np.mean([getattr(f, key) for f in members], axis=0))
