"""Live strategy deployments: a strategy bound to an account and an algo ID, stepping on the
feed's closed bars and trading through ``orders.services.order_place`` (every risk check,
rate limit and kill switch applies). See ``strategies.live.services``."""
