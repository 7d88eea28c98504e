"""App configuration for strategies."""

from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"

    def ready(self) -> None:
        from marketdata.bar_builder import bars_closed
        from strategies.live import tasks  # noqa: F401  (registers the deployment's step)
        from strategies.live.services import deployments_on_bars

        bars_closed.connect(deployments_on_bars, dispatch_uid="strategies.deployments_on_bars")
