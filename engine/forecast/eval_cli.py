"""``python -m engine eval forecast``: rolling-origin backtest of every method on one series."""

from __future__ import annotations

import sys

from engine.cli_args import json_text, positive

HELP = "rolling-origin backtest of forecasting methods on a series: MAE, RMSE, sMAPE, MASE, coverage"
# backtest.DEFAULT_METHODS, spelt out so that building the CLI parser does not import pandas
DEFAULT = "naive,snaive,drift,ets,arima,theta,linear,lstm,auto"


def add_arguments(p) -> None:
    p.add_argument("--csv", required=True, metavar="FILE", help="CSV, TSV, semicolon or plain-text file")
    p.add_argument("--column", default=None, help="value column (name or 0-based position)")
    p.add_argument("--date-column", default=None, help="date column (default: detected)")
    p.add_argument("--horizon", type=int, required=True, help="steps per fold")
    p.add_argument("--folds", type=int, default=3, help="forecast origins (default 3)")
    p.add_argument(
        "--season", type=int, default=None, help="seasonal period (default: from the dates / detected)"
    )
    p.add_argument("--methods", default=DEFAULT, help=f"comma-separated methods (default {DEFAULT})")
    p.add_argument("--seeds", type=positive, default=None, help="LSTM ensemble size (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed")


def run(args) -> int:
    from engine.forecast.backtest import backtest
    from engine.forecast.io import read_series

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise ValueError(f"--methods names no method ({args.methods!r}); e.g. --methods naive,ets,lstm")
    series = read_series(args.csv, args.column, args.date_column)
    options = {}
    if args.seeds:  # no torch import for methods that do not need it
        from engine.forecast.lstm_model import LSTMConfig

        options = {"lstm": LSTMConfig(seeds=args.seeds)}

    def progress(event: dict) -> None:
        if event.get("stage") == "backtest" and not args.json:
            print(
                f"  [{event['done'] + 1}/{event['total']}] {event['method']} @ {event['origin']}",
                file=sys.stderr,
            )

    bt = backtest(
        series,
        args.horizon,
        methods,
        args.folds,
        args.season,
        progress=progress,
        options=options,
        seed=args.seed,
    )
    if args.json:
        print(json_text(bt.to_dict()))
        return 0
    summary = bt.summary()
    best = bt.best()
    print(
        f"{series.name}: {len(series)} points, horizon {bt.horizon}, season {bt.season}, origins {bt.origins}"
    )
    for w in bt.warnings:
        print(f"warning: {w}", file=sys.stderr)
    keys = ("mae", "rmse", "smape", "mase", "cov80", "cov95", "seconds")
    print(f"{'method':>8} " + " ".join(f"{k:>10}" for k in keys))
    for m, row in summary.items():
        mark = " *" if m == best else ""
        cells = " ".join(f"{row.get(k, float('nan')):10.4g}" for k in keys)
        fail = f"  ({row['failed']} fold(s) failed)" if row["failed"] else ""
        print(f"{m:>8} {cells}{mark}{fail}")
    for r in bt.auto_reasons:
        print(f"auto {r}")
    return 0
