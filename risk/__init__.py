"""Risk: limits, the pre-trade check pipeline, kill switches and post-trade monitors."""
