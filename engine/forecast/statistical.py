"""statsmodels baselines: ETS (small AICc search), ARIMA (small auto order search) and Theta.

Long seasons (more than ``NATIVE_SEASON_*`` steps, e.g. 48 half-hours or 52 weeks) are removed by
classical decomposition first and put back on the forecast, as the M4 benchmarks do; shorter
ones are modelled natively. statsmodels' convergence chatter is silenced here because pytest
runs with warnings as errors and the chatter says nothing a person can act on.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.forecast.context import FitContext
from engine.forecast.result import Prediction
from engine.forecast.transforms import fit_seasonal, is_seasonal

NATIVE_SEASON_ETS = 24  # ETS models seasons up to this length itself
NATIVE_SEASON_ARIMA = 12  # seasonal ARIMA is slow beyond this
ARIMA_MAX_POINTS = 600  # ARIMA sees at most this many recent points (speed; older data adds little)
ETS_MAX_POINTS = 2000  # ditto for ETS
ARIMA_BUDGET_S = 6.0  # the order search stops trying new orders after this many seconds


@contextlib.contextmanager
def quiet():
    # statsmodels adds "always" filters for its warnings when this module is first imported; import
    # it before entering the context so that "ignore" stays in front of them
    import statsmodels.tools.sm_exceptions  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _deseasonalised(
    y: np.ndarray, horizon: int, season: int, fit: Callable[[np.ndarray], Prediction]
) -> Prediction:
    """Fit ``fit`` on the classically deseasonalised series and reseasonalise its forecast."""
    seas = fit_seasonal(y, season) if season > 1 else None
    if seas is None:
        return fit(y)
    pred = fit(seas.remove(y))
    back = {k: seas.restore(np.asarray(v), y.size) for k, v in pred.bounds().items()}
    info = dict(pred.info, deseasonalised=f"classical, period {season}")
    return Prediction(seas.restore(np.asarray(pred.mean), y.size), info=info, **back)


def _frame_prediction(mean, frame80, frame95, lo: str, hi: str, info: dict) -> Prediction:
    return Prediction(
        np.asarray(mean, dtype=float),
        np.asarray(frame80[lo], dtype=float),
        np.asarray(frame80[hi], dtype=float),
        np.asarray(frame95[lo], dtype=float),
        np.asarray(frame95[hi], dtype=float),
        info,
    )


# ---------------------------------------------------------------- ETS


def fit_ets(y: np.ndarray, season: int, additive_only: bool = False):
    """The ETS fit with the lowest AICc among a small standard set: (results, name).

    Candidates: errors A (and M for positive data), trend none / additive / damped, and when the
    series passes the seasonality test, additive (and multiplicative) seasons of length ``season``.
    Call inside :func:`quiet`.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    positive = bool(np.all(y > 0)) and not additive_only
    seasonal = season > 1 and is_seasonal(y, season)
    specs = [("add", None, False), ("add", "add", False), ("add", "add", True)]
    if positive:
        specs += [("mul", None, False), ("mul", "add", True)]
    configs = [(e, t, d, None) for e, t, d in specs]
    if seasonal:
        configs += [("add", None, False, "add"), ("add", "add", True, "add")]
        if positive:
            configs += [("mul", None, False, "mul"), ("mul", "add", True, "mul")]
    best, best_aicc, best_cfg = None, np.inf, None
    for error, trend, damped, seas in configs:
        try:
            model = ETSModel(
                pd.Series(y),
                error=error,
                trend=trend,
                damped_trend=damped,
                seasonal=seas,
                seasonal_periods=season if seas else None,
                # initial states from a decomposition of the first seasons, not estimated: several
                # times faster with seasons, and fewer parameters for AICc to charge
                initialization_method="heuristic" if y.size >= max(12, 3 * season) else "estimated",
            )
            res = model.fit(disp=False, maxiter=200)
        except (ValueError, np.linalg.LinAlgError, RuntimeError, ZeroDivisionError):
            continue
        aicc = float(res.aicc)
        if np.isfinite(aicc) and aicc < best_aicc:
            best, best_aicc, best_cfg = res, aicc, (error, trend, damped, seas)
    if best is None:
        raise ValueError("no ETS model could be fitted to this series")
    error, trend, damped, seas = best_cfg
    name = (
        f"ETS({error[0].upper()},{'N' if not trend else 'Ad' if damped else 'A'},{(seas or 'N')[0].upper()})"
    )
    return best, name


def _ets_search(y: np.ndarray, horizon: int, season: int, seed: int) -> Prediction:
    best, name = fit_ets(y, season)
    n = y.size
    pred = best.get_prediction(start=n, end=n + horizon - 1, rng=np.random.default_rng(seed))
    f80, f95 = pred.summary_frame(alpha=0.2), pred.summary_frame(alpha=0.05)
    return _frame_prediction(
        f80["mean"], f80, f95, "pi_lower", "pi_upper", {"model": name, "aicc": float(best.aicc)}
    )


def ets(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """Exponential smoothing: the ETS form with the lowest AICc among a small standard set."""
    y = y[-ETS_MAX_POINTS:]
    with quiet():
        if season > NATIVE_SEASON_ETS:
            return _deseasonalised(y, horizon, season, lambda a: _ets_search(a, horizon, 1, ctx.seed))
        return _ets_search(y, horizon, season, ctx.seed)


# ---------------------------------------------------------------- ARIMA


def _ndiffs(y: np.ndarray, max_d: int = 2) -> int:
    """Differences needed for the KPSS test (5%) to stop rejecting level stationarity."""
    from statsmodels.tsa.stattools import kpss

    d = 0
    x = y
    while d < max_d and x.size > 10 and np.std(x) > 0:
        try:
            p = kpss(x, regression="c", nlags="auto")[1]
        except (ValueError, OverflowError):
            break
        if p >= 0.05:
            break
        x = np.diff(x)
        d += 1
    return d


def _seasonal_strength(y: np.ndarray, season: int) -> float:
    from statsmodels.tsa.seasonal import STL

    res = STL(y, period=season, robust=False).fit()
    resid, seas = np.asarray(res.resid), np.asarray(res.seasonal)
    denom = np.var(seas + resid)
    return float(max(0.0, 1.0 - np.var(resid) / denom)) if denom > 0 else 0.0


def _arima_search(y: np.ndarray, horizon: int, season: int) -> Prediction:
    from statsmodels.tsa.arima.model import ARIMA

    seasonal = 1 < season <= NATIVE_SEASON_ARIMA and y.size >= 3 * season
    big_d = 1 if seasonal and _seasonal_strength(y, season) > 0.64 else 0
    base = y[season:] - y[:-season] if big_d else y
    d = _ndiffs(base)

    def trend_for(with_trend: bool) -> str | None:
        if not with_trend:
            return None
        return {0: "c", 1: "t"}.get(d + big_d)

    def fit(order, sorder, with_trend):
        try:
            model = ARIMA(y, order=order, seasonal_order=sorder, trend=trend_for(with_trend))
            # no parameter covariance (not needed for forecasts, and slow); a bounded optimiser
            res = model.fit(method="statespace", cov_type="none", method_kwargs={"maxiter": 50})
        except (ValueError, np.linalg.LinAlgError, IndexError):
            return None, np.inf
        aicc = float(res.aicc)
        return (res, aicc) if np.isfinite(aicc) else (None, np.inf)

    started = time.perf_counter()
    m = season if seasonal else 0
    s0 = (0, big_d, 0, m) if seasonal else (0, 0, 0, 0)
    with_trend = d + big_d <= 1
    best, best_aicc, best_spec = None, np.inf, None
    for p, q in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (0, 2), (2, 1), (1, 2), (2, 2)]:
        if best is not None and time.perf_counter() - started > ARIMA_BUDGET_S:
            break
        res, aicc = fit((p, d, q), s0, with_trend)
        if aicc < best_aicc:
            best, best_aicc, best_spec = res, aicc, ((p, d, q), s0, with_trend)
    if best is None:
        raise ValueError("no ARIMA model could be fitted to this series")
    order, sorder, trend = best_spec
    tries = []
    if seasonal:
        tries += [(order, (1, big_d, 0, m), trend), (order, (0, big_d, 1, m), trend)]
    if trend_for(True) is not None:
        tries.append((order, sorder, not trend))
    for spec in tries:
        if time.perf_counter() - started > ARIMA_BUDGET_S:
            break
        res, aicc = fit(*spec)
        if aicc < best_aicc:
            best, best_aicc, best_spec = res, aicc, spec
    order, sorder, trend = best_spec
    fc = best.get_forecast(horizon)
    f80, f95 = fc.summary_frame(alpha=0.2), fc.summary_frame(alpha=0.05)
    name = (
        f"ARIMA{order}"
        + (f"{sorder[:3]}[{sorder[3]}]" if sorder[3] else "")
        + (" with drift/mean" if trend else "")
    )
    return _frame_prediction(
        f80["mean"], f80, f95, "mean_ci_lower", "mean_ci_upper", {"model": name, "aicc": best_aicc}
    )


def arima(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """ARIMA / seasonal ARIMA with d from KPSS, D from seasonal strength, (p, q) by AICc."""
    y = y[-ARIMA_MAX_POINTS:]
    with quiet():
        if season > NATIVE_SEASON_ARIMA:
            return _deseasonalised(y, horizon, season, lambda a: _arima_search(a, horizon, 1))
        return _arima_search(y, horizon, season)


# ---------------------------------------------------------------- Theta


def theta(y: np.ndarray, horizon: int, season: int, ctx: FitContext) -> Prediction:
    """The Theta method (Assimakopoulos & Nikolopoulos 2000) as in statsmodels, auto-deseasonalised."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    period = season if season > 1 and y.size >= 2 * season else 1
    with quiet():
        model = ThetaModel(y, period=period, deseasonalize=period > 1, use_test=True)
        res = model.fit()
        mean = np.asarray(res.forecast(horizon), dtype=float)
        f80 = res.prediction_intervals(horizon, alpha=0.2)
        f95 = res.prediction_intervals(horizon, alpha=0.05)
    return _frame_prediction(mean, f80, f95, "lower", "upper", {"model": f"Theta(period={period})"})
