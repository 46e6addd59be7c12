"""Forecasting domain: revenue and MRR ensembles with calibrated intervals, backtests, capacity."""
