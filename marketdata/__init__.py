"""Market data: instruments, trading calendar, quotes and bars, providers and the price cache."""
