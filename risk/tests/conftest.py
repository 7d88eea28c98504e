"""Fixtures of the risk tests: two risk managers, limits set through maker-checker, and
placing an order through to its execution."""

import pytest

from orders.models import Order
from orders.services import order_place
from orders.tests.fixtures import request
from risk.services import limit_decide, limit_propose


@pytest.fixture
def set_limit(risk_managers):
    """Put a limit in force the only way there is: one proposes, the other approves."""
    maker, checker = risk_managers

    def apply(scope, kind, value=None, **targets):
        change = limit_propose(
            actor=maker, scope=scope, kind=kind, value=value, reason="test", **targets
        )
        return limit_decide(change=change, actor=checker, approve=True)

    return apply


@pytest.fixture
def place(django_capture_on_commit_callbacks):
    """``place(account, **request fields)``: place an order, run its execution, reload it."""

    def run(account, **kwargs) -> Order:
        with django_capture_on_commit_callbacks(execute=True):
            order = order_place(account=account, request=request(**kwargs)).order
        order.refresh_from_db()
        return order

    return run
