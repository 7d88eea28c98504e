"""Settings for benchmark runs: the project's, plus the baseline endpoint's URLs."""

from tradingsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
