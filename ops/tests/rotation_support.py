"""Checks shared by the rotation tests: no secret in the audit trail or the logs."""

import json

from compliance.models import AuditEvent


def audit_text() -> str:
    return json.dumps(
        [[e.action, e.object_id, e.before, e.after] for e in AuditEvent.objects.order_by("seq")]
    )


def assert_never_recorded(caplog, *values: str) -> None:
    """No value appears in any audit event or captured log line (and both exist)."""
    trail, logs = audit_text(), caplog.text
    assert "ops.secret" in trail
    assert "secrets rotation" in logs
    for value in values:
        assert value
        assert value not in trail
        assert value not in logs


def one(results):
    assert len(results) == 1
    return results[0]
