"""App configuration for orders: the paper exchange listens to the market-data feed."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from marketdata.feed import quotes_published
        from orders.paper import paper_on_quotes

        quotes_published.connect(paper_on_quotes, dispatch_uid="orders.paper_on_quotes")
