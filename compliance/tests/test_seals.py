"""Seals of the chain heads in a file: written, chained, signed, verified, and found out
when a seal line is altered, removed or signed with another key."""

import fcntl
import json
import os

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django_celery_beat.models import PeriodicTask

from compliance import seals, tasks
from compliance.models import AuditChain, AuditEvent
from compliance.seal_keys import SealKey, key_file_write, public_key_text, seal_key
from compliance.seal_sinks import FileSink, SealSinkError, seal_sink
from compliance.seal_verify import audit_verify_sealed, seals_verify
from compliance.seals import SealError, merkle_root, seal_digest, seal_write
from compliance.tests.conftest import account_events, seal_lines
from ops.checks import audit_seal_settings
from ops.schedules import DEFAULT_SCHEDULES, schedules_install

pytestmark = pytest.mark.django_db


def heads_now() -> dict:
    return {c.key: [c.seq, c.hash] for c in AuditChain.objects.all()}


def test_seals_carry_the_changed_heads_and_the_root_of_all(record_events, seal_files):
    record_events(3)
    account_events(1, 2)
    account_events(2, 4)

    first = seal_write()
    account_events(2, 1)
    second = seal_write()

    one, two = seal_lines(seal_files)
    assert (one["seal"], two["seal"]) == (first.number, second.number) == (1, 2)
    assert one["heads"] == heads_now() | {"account:2": one["heads"]["account:2"]}
    assert one["heads"]["account:2"][0] == 4
    assert two["heads"] == {"account:2": heads_now()["account:2"]}  # only what moved
    assert two["root"] == merkle_root(heads_now()) != one["root"]
    assert (two["chains"], two["events"]) == (3, 3 + 2 + 5)
    assert one["prev"] == "0" * 64
    assert two["prev"] == seal_digest(one)
    assert two["key_id"] == seal_key().id
    report = seals_verify()
    assert report.ok, str(report)
    assert (report.seals, report.chains) == (2, 3)


def test_no_seal_without_a_change_unless_forced(record_events, seal_files):
    record_events(2)
    seal_write()

    assert seal_write() is None
    forced = seal_write(force=True)

    assert forced.number == 2
    assert [s["heads"] for s in seal_lines(seal_files)][1] == {}
    assert seals_verify().ok


def test_the_command_checks_the_seals_with_the_chains(record_events, seal_files, capsys):
    record_events(2)
    call_command("audit_seal")
    assert "Seal 1 of 1 chains written to" in capsys.readouterr().out

    call_command("audit_verify", "--seals")

    out = capsys.readouterr().out
    assert "Audit trail intact: 2 events checked" in out
    assert "Seals intact: 1 seals in file://" in out
    assert audit_verify_sealed().ok


def test_a_new_process_continues_the_seal_chain(record_events, seal_files):
    record_events(1)
    seal_write()
    seals.seal_cache_clear()  # what a new process knows: nothing but the file
    record_events(1)

    again = seal_write()

    assert again.number == 2
    assert again.seal["prev"] == seal_digest(seal_lines(seal_files)[0])
    assert seals_verify().ok


def test_a_writer_catches_up_with_seals_another_process_wrote(record_events, seal_files):
    record_events(1)
    seal_write()
    ours = dict(seals._states)
    seals.seal_cache_clear()
    record_events(1)
    seal_write()  # "another process": its own cache, the same file
    seals._states.update(ours)  # this process still remembers only seal 1
    record_events(1)

    third = seal_write()

    lines = seal_lines(seal_files)
    assert [s["seal"] for s in lines] == [1, 2, 3]
    assert third.seal["prev"] == seal_digest(lines[1])
    assert third.seal["heads"] == {"firm": heads_now()["firm"]}
    assert seals_verify().ok


def test_the_file_is_locked_for_the_append_and_fsynced(seal_files, monkeypatch):
    sink = seal_sink()
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))

    with sink.locked():
        other = os.open(seal_files, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
        sink.append(1, '{"x": 1}')

    assert len(synced) == 2  # the new file's folder, then the line
    assert seal_files.read_text() == '{"x": 1}\n'
    with pytest.raises(RuntimeError, match=r"inside FileSink\.locked"):
        sink.append(2, "{}")


def test_a_tampered_seal_line_is_found(record_events, seal_files):
    record_events(2)
    seal_write()
    record_events(1)
    seal_write()
    lines = seal_files.read_text().splitlines()
    forged = json.loads(lines[0])
    forged["heads"]["firm"] = [1, AuditEvent.objects.get(seq=1).hash]
    seal_files.write_text("\n".join([json.dumps(forged), lines[1]]) + "\n")

    report = seals_verify()

    reasons = [str(f) for f in report.findings]
    assert any(r.startswith("seal 1 (") and "signature does not verify" in r for r in reasons)
    assert any(r.startswith("seal 2 (") and "prev does not match" in r for r in reasons)
    with pytest.raises(CommandError, match="Seals BROKEN"):
        call_command("audit_verify", "--seals")


def test_a_removed_seal_line_is_found(record_events, seal_files):
    for _ in range(3):
        record_events(1)
        seal_write()
    lines = seal_files.read_text().splitlines()
    seal_files.write_text(f"{lines[0]}\n{lines[2]}\n")

    report = seals_verify()

    assert not report.ok
    reasons = [str(f) for f in report.findings]
    assert any(r.startswith("seal 3 (") and "seal 2 is missing" in r for r in reasons), reasons


def test_a_seal_signed_with_another_key_is_found(record_events, seal_files, settings, tmp_path):
    stranger = key_file_write(tmp_path / "stranger.pem")
    record_events(1)
    seal_write()
    record_events(1)
    seal_write(key=stranger)

    report = seals_verify()

    assert [str(f) for f in report.findings] == [
        f"seal 2 ({seal_lines(seal_files)[1]['at']}): signed by key {stranger.id}, "
        "which is not a trusted seal key"
    ]
    settings.AUDIT_SEAL_PUBLIC_KEYS = [public_key_text(stranger.private.public_key())]
    assert seals_verify().ok  # a key trusted on purpose, e.g. the one before a rotation


def test_a_seal_claiming_the_trusted_key_id_but_signed_by_another_is_found(
    record_events, seal_files, tmp_path
):
    record_events(1)
    forger = key_file_write(tmp_path / "forger.pem")
    seal_key()  # the demo key, created

    class Impostor(SealKey):
        @property
        def id(self) -> str:
            return seal_key().id

    seal_write(key=Impostor(forger.private))

    reasons = [str(f) for f in seals_verify().findings]
    assert any("signature does not verify" in r for r in reasons), reasons


def test_a_corrupt_seal_line_is_named(record_events, seal_files):
    record_events(1)
    seal_write()
    with seal_files.open("a") as out:
        out.write("this is no seal\n")

    report = seals_verify()

    assert [str(f) for f in report.findings] == [
        f"{seal_files} line 2: not a JSON seal (Expecting value)"
    ]
    record_events(1)
    with pytest.raises(SealError, match=r"seals.jsonl at byte \d+: not a JSON seal"):
        seal_write()


def test_a_cut_off_last_line_stops_sealing(record_events, seal_files):
    record_events(1)
    seal_write()
    with seal_files.open("a") as out:
        out.write('{"v": 1, "se')
    record_events(1)

    with pytest.raises(SealError, match=r"at byte \d+: not a JSON seal \(the line is cut off"):
        seal_write()
    report = seals_verify()
    assert f"{seal_files} line 2: the line is cut off (no newline)" in map(str, report.findings)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://host/seals",
            "AUDIT_SEAL_SINK must be file:///absolute/path or s3://bucket/prefix, not 'ftp://host/seals'",
        ),
        (
            "file://relative/seals.jsonl",
            "(a file's absolute path), not 'file://relative/seals.jsonl'",
        ),
        ("file:///var/seals/", "(a file's absolute path)"),
        ("s3:///prefix", "(a bucket name)"),
    ],
)
def test_a_bad_sink_setting_is_named(url, message, settings):
    settings.AUDIT_SEAL_SINK = url
    with pytest.raises(ImproperlyConfigured) as error:
        seal_sink()
    assert message in str(error.value)


def test_a_retention_under_a_day_is_refused(settings):
    settings.AUDIT_SEAL_SINK = "s3://seals/trail"
    settings.AUDIT_SEAL_S3_RETAIN_DAYS = 0
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SEAL_S3_RETAIN_DAYS must be at least 1"):
        seal_sink()


def test_an_unwritable_sink_path_is_named(record_events, seal_files, settings, tmp_path):
    settings.AUDIT_SEAL_SINK = f"file://{tmp_path}/no/such/folder/seals.jsonl"
    record_events(1)
    with pytest.raises(
        SealSinkError, match=r"cannot write seals to .*/no/such/folder/seals\.jsonl: No such file"
    ):
        seal_write()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("c2hvcnQ=", "AUDIT_SEAL_KEY must be the base64 of a 32-byte Ed25519 key, not 5 bytes"),
        ("not base64 at all!", "AUDIT_SEAL_KEY is not valid base64"),
    ],
)
def test_a_bad_key_setting_is_named(value, message, settings):
    settings.AUDIT_SEAL_KEY = value
    with pytest.raises(ImproperlyConfigured, match=message):
        seal_key()


def test_production_needs_a_key_file_and_the_deploy_check_says_so(seal_files, settings, tmp_path):
    settings.PRODUCTION = True
    settings.AUDIT_SEAL_KEY_FILE = tmp_path / "absent.pem"

    with pytest.raises(
        ImproperlyConfigured, match=r"AUDIT_SEAL_KEY_FILE: no key file at .*absent\.pem"
    ):
        seal_key()
    assert not (tmp_path / "absent.pem").exists()  # production never makes its own key
    warnings = audit_seal_settings(None)
    assert [w.id for w in warnings] == ["ops.W004"]
    assert "no key file at" in warnings[0].msg
    assert "manage.py audit_seal_key" in warnings[0].hint

    (tmp_path / "absent.pem").write_text("-----BEGIN NONSENSE-----\n")
    with pytest.raises(ImproperlyConfigured, match="is not an unencrypted PEM private key"):
        seal_key()
    call_command("audit_seal_key", str(tmp_path / "made.pem"))
    settings.AUDIT_SEAL_KEY_FILE = tmp_path / "made.pem"
    settings.AUDIT_SEAL_SINK = "gopher://x"
    assert [w.id for w in audit_seal_settings(None)] == ["ops.W005"]
    assert (tmp_path / "made.pem").stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError, match="exists; a seal key is never overwritten"):
        call_command("audit_seal_key", str(tmp_path / "made.pem"))


# A Tuesday that NSE trades (checked below), in IST.
SESSION_MINUTE = "2026-12-01 10:05 +05:30"
SATURDAY = "2026-12-05 10:05 +05:30"
CLOSE = "2026-12-01 15:45 +05:30"


def test_the_task_seals_in_session_and_skips_outside(record_events, seal_files, settings):
    from marketdata.calendar import is_open

    settings.MARKETDATA_ALWAYS_OPEN = False
    record_events(1)

    with time_machine.travel(SATURDAY, tick=False):
        assert tasks.audit_seal.apply().get() == {
            "sealed": None, "skipped": "the market is not in session",
        }  # fmt: skip
    with time_machine.travel(SESSION_MINUTE, tick=False):
        assert is_open()
        assert tasks.audit_seal.apply().get()["sealed"] == 1
        assert (
            tasks.audit_seal.apply().get()["skipped"] == "no chain head moved since the last seal"
        )
    with time_machine.travel(CLOSE, tick=False):
        assert not is_open()
        assert tasks.audit_seal.apply(kwargs={"close": True}).get()["sealed"] == 2

    assert [s["seal"] for s in seal_lines(seal_files)] == [1, 2]


def test_the_seal_task_is_scheduled_each_session_minute_and_at_the_close():
    entries = [s for s in DEFAULT_SCHEDULES if s.task == "compliance.tasks.audit_seal"]
    assert [(s.crontab, s.kwargs) for s in entries] == [
        ("* 9-15 * * 1-5", None),
        ("45 15 * * 1-5", {"close": True}),
    ]

    schedules_install()

    installed = PeriodicTask.objects.filter(task="compliance.tasks.audit_seal").order_by("name")
    assert [(t.crontab.hour, t.crontab.minute, json.loads(t.kwargs)) for t in installed] == [
        ("15", "45", {"close": True}),
        ("9-15", "*", {}),
    ]
    assert {str(t.crontab.timezone) for t in installed} == {"Asia/Kolkata"}


def test_the_file_sink_reads_back_from_an_offset(seal_files):
    sink = FileSink(seal_files)
    with sink.locked():
        sink.append(1, '{"a": 1}')
        sink.append(2, '{"b": 2}')
    first = next(iter(sink.read()))

    rest = list(sink.read(first.cursor))

    assert [r.text for r in rest] == ['{"b": 2}']
    assert rest[0].label.endswith("at byte 9")
