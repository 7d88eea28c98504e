"""Strategies: the strategy catalogue, deployments on accounts, signals and backtests."""
