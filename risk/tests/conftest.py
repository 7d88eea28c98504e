"""Fixtures of the risk tests: two risk managers, and limits set through maker-checker."""

import pytest

from risk.services import limit_decide, limit_propose


@pytest.fixture
def risk_managers(user_in_role):
    return user_in_role("Risk Manager", "rina"), user_in_role("Risk Manager", "ravi")


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
