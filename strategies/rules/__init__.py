"""The strategy catalogue's rules, one module each; ``strategies.catalogue`` imports them all."""
