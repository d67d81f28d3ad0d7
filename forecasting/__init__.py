"""Forecasts: demand forecasting (series from the store, the Prophet-based pipeline, backtests and
what-if scenarios) and the tank level model.

Everything here is pure (takes a cursor or a series) so the CLI, the pages and the
tests share it; only `forecasting.cache` keeps state (fitted models on disk).
"""
