"""Forecasting: recurrent forecasters, statistical baselines, backtests and series import.

Public API (import from the submodules; this package imports nothing heavy):

- ``engine.forecast.io.read_series(path, column=None, date_column=None) -> Series``
- ``engine.forecast.methods.fit_forecast(series, horizon, method="auto", season=None,
  progress=None, cancel=None, options=None) -> Forecast`` with methods
  ``METHODS`` (naive, snaive, drift, ets, arima, theta, lstm, gru, hybrid) and ``auto``
- ``engine.forecast.backtest.backtest(series, horizon, methods=None, folds=3, ...) -> Backtest``
- ``engine.forecast.global_model.fit_global(series_list, horizon, season) -> GlobalForecaster``
- configs: ``engine.forecast.lstm_model.LSTMConfig``, ``engine.forecast.auto.AutoConfig``
- results: ``engine.forecast.result.Forecast``, ``Backtest``, ``Prediction``
"""
