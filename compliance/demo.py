"""Demo data of the compliance app: a checkpoint of the audit trail after the other seeders,
and a seal of its chain heads outside the database.

It runs last, so the checkpoint covers the demo's own events (users' limits, orders...).
A second run adds a checkpoint only if the chain moved since the last one, and a chain
that fails verification is reported, never raised: the seed must not fail on re-run.
"""

from django.core.exceptions import ImproperlyConfigured

from compliance.seal_sinks import SealSinkError
from compliance.seals import SealRefused
from compliance.selectors import audit_checkpoint_latest, audit_checkpoint_schedule
from compliance.services import AuditChainBroken, audit_checkpoint, audit_seal


def seed(*, stdout, reset_passwords: bool = False) -> None:
    _checkpoint(stdout)
    try:
        sealed = audit_seal()
    except (SealRefused, SealSinkError, ImproperlyConfigured) as refused:
        stdout.write(f"Audit seal: not written: {refused}")
        return
    if sealed is not None:
        stdout.write(f"Audit seal {sealed.number} written to {sealed.where}.")


def _checkpoint(stdout) -> None:
    previous = audit_checkpoint_latest()
    try:
        checkpoint = audit_checkpoint()
    except AuditChainBroken as broken:
        stdout.write(f"Audit checkpoint: not made, the chain failed verification: {broken}")
        return
    if previous is not None and checkpoint.pk == previous.pk:
        stdout.write(f"Audit checkpoint: already at {checkpoint} (trail unchanged).")
        return
    timing = audit_checkpoint_schedule().timing or "not scheduled"
    stdout.write(
        f"Audit checkpoint: {checkpoint}, the trail verified up to it "
        f"(next checkpoints: {timing}; see the audit trail page)."
    )
