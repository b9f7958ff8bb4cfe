"""``python -m engine forecast``: forecast a series read from a CSV / TSV / text file."""

from __future__ import annotations

import sys

from engine.cli_args import json_text, positive

HELP = "forecast a series from a CSV/TSV/text file with intervals (lstm, linear, ets, arima, …, auto)"
METHOD_NAMES = (
    "auto",
    "lstm",
    "gru",
    "hybrid",
    "linear",
    "ets",
    "arima",
    "theta",
    "naive",
    "snaive",
    "drift",
)


def add_arguments(p) -> None:
    p.add_argument("--csv", required=True, metavar="FILE", help="CSV, TSV, semicolon or plain-text file")
    p.add_argument(
        "--column", default=None, help="value column (name or 0-based position); default: first numeric"
    )
    p.add_argument("--date-column", default=None, help="date column (default: detected)")
    p.add_argument("--horizon", type=int, required=True, help="steps to forecast")
    p.add_argument(
        "--season", type=int, default=None, help="seasonal period (default: from the dates / detected)"
    )
    p.add_argument(
        "--method", default="auto", choices=METHOD_NAMES, help="forecasting method (default: auto)"
    )
    p.add_argument("--seeds", type=positive, default=None, help="LSTM ensemble size (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--max-points", type=int, default=None, help="keep at most this many recent points")


def _options(args) -> dict:
    if not args.seeds:
        return {}  # no torch import for a method that does not need it
    from engine.forecast.lstm_model import LSTMConfig

    return {"lstm": LSTMConfig(seeds=args.seeds)}


def _progress(quiet: bool):
    if quiet:
        return None

    def show(event: dict) -> None:
        if event.get("stage") == "lstm" and event.get("epoch", 0) % 10 == 0:
            print(
                f"  lstm member {event['member']} epoch {event['epoch']} val {event['val_loss']:.4f}",
                file=sys.stderr,
            )
        elif event.get("stage") == "auto":
            print(f"  auto: backtesting {event['method']} at origin {event['origin']}", file=sys.stderr)

    return show


def run(args) -> int:
    from engine.forecast.io import read_series
    from engine.forecast.methods import fit_forecast
    from engine.forecast.series import DEFAULT_MAX_POINTS

    keep = DEFAULT_MAX_POINTS if args.max_points is None else args.max_points
    series = read_series(args.csv, args.column, args.date_column, keep)
    fc = fit_forecast(
        series,
        args.horizon,
        args.method,
        args.season,
        progress=_progress(args.json),
        options=_options(args),
        seed=args.seed,
    )
    if args.json:
        print(json_text(fc.to_dict()))
        return 0
    print(f"{series.name}: {len(series)} points, season {fc.season}, method {fc.method}")
    if fc.info.get("reason"):
        print(f"auto: {fc.info['reason']}")
    elif fc.info.get("model"):
        print(f"model: {fc.info['model']}")
    for w in fc.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{'step':>20} {'mean':>12} {'lo80':>12} {'hi80':>12} {'lo95':>12} {'hi95':>12}")
    for i, label in enumerate(fc.index):
        vals = (fc.mean[i], fc.lo80[i], fc.hi80[i], fc.lo95[i], fc.hi95[i])
        print(f"{str(label):>20} " + " ".join(f"{v:12.4g}" for v in vals))
    print(f"({fc.seconds:.1f} s)")
    return 0
