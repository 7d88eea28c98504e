"""Alerts of the compliance desk: the rules that raise them, kept as data, and the alerts
themselves, raised by transaction monitoring (PMLA) and market-abuse surveillance."""
