"""Fixtures of the risk tests: placing an order through to its execution (``set_limit`` and
``risk_managers`` are the root conftest's)."""

import pytest

from orders.models import Order
from orders.services import order_place
from orders.tests.fixtures import request


@pytest.fixture
def place(django_capture_on_commit_callbacks):
    """``place(account, **request fields)``: place an order, run its execution, reload it."""

    def run(account, **kwargs) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            order = order_place(account=account, request=request(**kwargs)).order
        order.refresh_from_db()
        return order

    return run
