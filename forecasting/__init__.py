"""Forecasts: demand forecasting and the tank level model."""
