"""Small bars shipped in the repository for the backtests CI runs (``strategies.shipped``)."""
