"""Filing an STR from a case: drafted by the officer working it, filed when a second
officer approves the closure; its two files frozen outside the database under their
sha256, read back only if they still match; never changed once filed."""

import hashlib

import pytest
from defusedxml import ElementTree
from django.db import IntegrityError, transaction

from compliance.cases.models import CaseStatus, StrReport, StrStatus
from compliance.cases.services import (
    CaseRefused,
    StrFileTampered,
    case_close_approve,
    case_close_request,
    case_move,
    case_open,
    str_draft,
    str_file_read,
)
from compliance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_second_officer_files_the_str_and_its_files_are_frozen(
    case_officers, worked_case, compliance_files_dir, suspect
):
    asha, bala, _ = case_officers
    case = case_close_approve(case=worked_case("str_filed"), actor=bala)
    assert case.status == CaseStatus.STR_FILED
    report = StrReport.objects.get(case=case)
    assert (report.status, report.prepared_by, report.approved_by) == (
        StrStatus.FILED, asha, bala,
    )  # fmt: skip
    for kind in ("data", "pdf"):
        stored = compliance_files_dir / getattr(report, f"{kind}_file")
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == getattr(report, f"{kind}_sha256")
    name, xml = str_file_read(report=report, kind="data", actor=bala)
    assert name == f"{report.ref}.xml"
    root = ElementTree.fromstring(xml)
    text = ElementTree.tostring(root, encoding="unicode")
    assert suspect.client.pan in text  # the subject
    assert "490000.00" in text  # the deposit the alert pointed at
    assert "Self trades in INFY &amp; spoof orders." in text
    _, pdf = str_file_read(report=report, kind="pdf", actor=bala)
    assert pdf.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="str.read").count() == 2
    filed = AuditEvent.objects.get(action="str.filed")
    assert (filed.actor_username, filed.after["data_sha256"]) == ("bala_co", report.data_sha256)


def test_a_filed_str_does_not_change(case_officers, worked_case):
    asha, bala, _ = case_officers
    case = case_close_approve(case=worked_case("str_filed"), actor=bala)
    with pytest.raises(CaseRefused, match="escalated"):
        str_draft(case=case, actor=asha, grounds="new", categories=["identity"])
    report = StrReport.objects.get(case=case)
    assert report.grounds == "Self trades in INFY & spoof orders."


def test_the_officer_who_prepared_the_str_cannot_file_it(case_officers, worked_case):
    asha, bala, chitra = case_officers
    case = worked_case("str_filed")  # asha drafted and proposed
    str_draft(case=case, actor=bala, grounds="Redrafted by bala.", categories=["market_abuse"])
    case = case_close_request(case=case, actor=asha, outcome="str_filed", reason="file it")
    with pytest.raises(CaseRefused, match="did not prepare it"):
        case_close_approve(case=case, actor=bala)
    assert StrReport.objects.get(case=case).status == StrStatus.DRAFT
    case = case_close_approve(case=case, actor=chitra)
    assert case.status == CaseStatus.STR_FILED


def test_a_tampered_stored_file_is_refused(case_officers, worked_case, compliance_files_dir):
    _, bala, _ = case_officers
    case = case_close_approve(case=worked_case("str_filed"), actor=bala)
    report = StrReport.objects.get(case=case)
    (compliance_files_dir / report.pdf_file).write_bytes(b"%PDF-1.4 forged")
    with pytest.raises(StrFileTampered, match="does not match its recorded sha256"):
        str_file_read(report=report, kind="pdf", actor=bala)


def test_an_str_is_drafted_only_for_an_escalated_case_with_known_grounds(
    case_officers, open_alerts
):
    asha = case_officers[0]
    case = case_move(
        case=case_open(title="t", actor=asha, alerts=open_alerts), move="review", actor=asha
    )
    with pytest.raises(CaseRefused, match="once a case is escalated"):
        str_draft(case=case, actor=asha, grounds="g", categories=["identity"])
    case = case_move(case=case, move="escalate", actor=asha, reason="r")
    with pytest.raises(CaseRefused, match="grounds of suspicion"):
        str_draft(case=case, actor=asha, grounds=" ", categories=["identity"])
    with pytest.raises(CaseRefused, match="unknown: laundering"):
        str_draft(case=case, actor=asha, grounds="g", categories=["laundering"])
    with pytest.raises(CaseRefused, match="categories"):
        str_draft(case=case, actor=asha, grounds="g", categories=[])
    report = str_draft(case=case, actor=asha, grounds="g", categories=["identity"])
    assert (report.due_on - report.suspicion_determined_on).days == 7
    case.refresh_from_db()
    assert case.suspicion_determined_on == report.suspicion_determined_on


def test_an_str_with_no_transaction_is_refused_when_proposed(case_officers, suspect):
    asha = case_officers[0]
    case = case_open(title="t", actor=asha, client_id=suspect.client_id)  # no evidence
    case = case_move(case=case, move="review", actor=asha)
    case = case_move(case=case, move="escalate", actor=asha, reason="r")
    str_draft(case=case, actor=asha, grounds="g", categories=["identity"])
    with pytest.raises(CaseRefused, match=r"cannot be filed: .*transaction"):
        case_close_request(case=case, actor=asha, outcome="str_filed", reason="file")


def test_the_database_refuses_an_str_filed_by_its_preparer(case_officers, worked_case):
    asha, _, _ = case_officers
    worked_case("str_filed")
    with pytest.raises(IntegrityError), transaction.atomic():
        StrReport.objects.update(
            status=StrStatus.FILED, approved_by=asha, data_sha256="x", pdf_sha256="y",
            filed_at="2026-12-01T10:00:00Z",
        )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        StrReport.objects.update(status=StrStatus.FILED)  # nobody approved, no files
