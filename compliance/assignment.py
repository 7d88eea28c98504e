"""Assigning a queue's items to an officer: the one write every compliance queue shares
(KYC applications, re-KYC due, screening hits, alerts, cases).

Both who assigns and the assignee must hold the queue's permission; each item that changes
is locked (ascending id, ``FOR UPDATE OF`` its own row) and audited on the firm's chain,
never an account's (the desk's work is not the account's, and an account's chain would
need the account's lock first).
"""

from typing import Any

from django.db.models import QuerySet

from compliance.services import audit_record, audited_atomic
from tradingsite.errors import DomainError


class AssignmentRefused(DomainError, ValueError):
    """Who assigns, or the assignee, may not work this queue."""

    problem_type = "forbidden"


def queue_assign(
    *, items: QuerySet, assignee: Any, actor: Any, perm: str, action: str,
    refused: type[Exception] = AssignmentRefused,
) -> int:  # fmt: skip
    """Assign ``items`` (the queue's assignable ones: the caller filters out what is closed)
    to ``assignee``; returns how many changed (an item already theirs is left as it is).
    ``refused`` is the error raised when a person may not work the queue (``perm``)."""
    for who, role in ((actor, "assign"), (assignee, "be assigned")):
        if who is None or not who.is_active or not who.has_perm(perm):
            name = who.get_username() if who is not None else "nobody"
            raise refused(f"{name} may not {role} this queue's work (needs {perm})")
    model = items.model
    has_updated_at = any(f.name == "updated_at" for f in model._meta.fields)
    changed = 0
    with audited_atomic():
        for item in items.select_for_update(of=("self",)).order_by("pk"):
            if item.assignee_id == assignee.pk:
                continue
            before = item.assignee.get_username() if item.assignee_id else None
            item.assignee = assignee
            item.save(update_fields=["assignee", *(["updated_at"] if has_updated_at else [])])
            audit_record(
                action=action, object_type=model._meta.label_lower, object_id=str(item.pk),
                actor=actor, before={"assignee": before},
                after={"assignee": assignee.get_username()},
            )  # fmt: skip
            changed += 1
    return changed
