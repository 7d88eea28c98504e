"""Raising an alert: once per rule, subject and window, audited, with checked evidence."""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.alerts.models import Alert, AlertRule
from compliance.alerts.services import UnknownRule, alert_raise, rule_params
from compliance.models import AuditEvent
from compliance.verify import audit_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule() -> AlertRule:
    return AlertRule.objects.create(
        code="test_rule", kind=AlertRule.Kind.SURVEILLANCE, name="Test", params={"window_s": 60}
    )


def _window():
    end = timezone.now()
    return end - dt.timedelta(minutes=5), end


def test_an_alert_is_raised_once_per_subject_and_window(rule):
    window = _window()
    first = alert_raise(
        rule=rule, subject_key="client:1", window=window, summary="both sides of INFY",
        score=3.5, evidence=[{"kind": "order", "id": 7}, {"kind": "fill", "id": 9}],
    )  # fmt: skip
    again = alert_raise(rule=rule, subject_key="client:1", window=window, summary="again")
    other = alert_raise(rule=rule, subject_key="client:2", window=window, summary="another")
    assert first is not None
    assert other is not None
    assert again is None
    assert Alert.objects.count() == 2
    assert first.evidence == [{"kind": "order", "id": 7}, {"kind": "fill", "id": 9}]
    events = AuditEvent.objects.filter(action="alert.raised", object_id=str(first.pk))
    assert [e.chain for e in events] == ["firm"]
    assert audit_verify().ok


def test_bad_evidence_or_window_raises_nothing(rule):
    start, end = _window()
    with pytest.raises(ValueError, match="evidence kinds must be"):
        alert_raise(rule=rule, subject_key="c", window=(start, end), summary="s",
                    evidence=[{"kind": "email", "id": 1}])  # fmt: skip
    with pytest.raises(ValueError, match="starts"):
        alert_raise(rule=rule, subject_key="c", window=(end, start), summary="s")
    assert not Alert.objects.exists()
    assert not AuditEvent.objects.filter(action="alert.raised").exists()


def test_rule_params_come_from_the_rule_and_a_missing_rule_is_an_error(rule):
    found, params = rule_params("test_rule")
    assert (found, params) == (rule, {"window_s": 60})
    with pytest.raises(UnknownRule, match="no alert rule 'nope'"):
        rule_params("nope")
