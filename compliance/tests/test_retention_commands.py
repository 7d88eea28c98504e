"""The archive commands: archive and release a past month, verify it, restore it."""

import json

import pytest
from django.core.management import CommandError, call_command

from compliance.models import AuditEvent
from compliance.retention.models import ArchiveRun
from compliance.retention.restore import restored_rows
from compliance.tests.retention_fixtures import IN_MONTH, events_at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("archive_dir")]


def test_a_past_month_is_archived_released_verified_and_restored(
    archive_officers, capsys, archive_dir
):
    events_at(IN_MONTH, 3)
    before = list(AuditEvent.objects.order_by("chain", "seq").values())
    username = archive_officers[0].username

    call_command("archive", "audit_events", "2020-03", "--as", username, "--release")
    run = ArchiveRun.objects.get()
    out = capsys.readouterr().out
    assert f"Archive run {run.pk}: 3 rows of audit_events 2020-03" in out
    assert "online rows released" in out
    assert not AuditEvent.objects.filter(pk__in=[r["id"] for r in before]).exists()

    call_command("archive_verify", str(run.pk))
    assert f"Archive run {run.pk} intact: 1 files, 3 rows verified." in capsys.readouterr().out
    call_command("archive_restore", str(run.pk), "--as", username)
    assert "verified and restored read-only" in capsys.readouterr().out
    assert restored_rows(run, AuditEvent) == before

    name = json.loads((archive_dir / run.manifest_name).read_bytes())["files"][0]["name"]
    (archive_dir / name).write_bytes(b"tampered")
    with pytest.raises(CommandError, match=f"archive file {name} does not match"):
        call_command("archive_verify", str(run.pk))


def test_the_command_says_why_a_month_is_refused(archive_officers):
    events_at(IN_MONTH, 1)
    with pytest.raises(CommandError, match=r"not archived: .* inside the online window"):
        call_command("archive", "audit_events", "2099-01", "--as", archive_officers[0].username)
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        call_command("archive", "audit_events", "2020-03", "--as", "nobody")
