"""Statements on the funds page: a trader requests the ledger statement of their account,
the reports task writes it, the page links its file, the file reads back against the
ledger; bad periods and kinds are named; another user's statement is not theirs to see."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.reports.models import ReportExport
from web.tests.test_ticket import html_of, text_of

pytestmark = pytest.mark.django_db


def _request(web, capture, **form):
    today = timezone.localdate().isoformat()
    body = {"kind": "ledger_statement", "format": "csv", "date_from": today,
            "date_to": today, **form}  # fmt: skip
    with capture(execute=True):
        return web.post(reverse("web:statement-request"), body, follow=True)


def test_a_ledger_statement_is_requested_written_and_downloaded(
    web, account, django_capture_on_commit_callbacks
):
    page = text_of(web.get(reverse("web:funds")))
    for title in ("Holdings statement", "Ledger statement", "Daily margin statement"):
        assert title in page
    answer = _request(web, django_capture_on_commit_callbacks)
    assert "Ledger statement (CSV) requested" in text_of(answer)
    export = ReportExport.objects.get()
    assert (export.status, export.params["account_id"]) == ("succeeded", account.pk)
    link = reverse("api:report-export-file", args=[export.pk])
    assert f'href="{link}"' in html_of(web.get(reverse("web:funds")))
    file = web.get(link)
    assert file.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(file.streaming_content).decode())))
    assert len(rows) == export.row_count
    assert [r["kind"] for r in rows] == ["opening_balance", "deposit", "closing_balance"]
    assert Decimal(rows[-1]["balance"]) == account.cash_balance


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"date_from": "2026-12-02", "date_to": "2026-12-01"},
         "Date to: date_to 2026-12-01 is before date_from 2026-12-02."),
        ({"date_from": "yesterday"}, "Date from:"),
        ({"format": "docx"}, "Format: 'docx' is not a format"),
        ({"kind": "trade_register"}, "Choose a statement: Holdings statement"),
    ],
)  # fmt: skip
def test_bad_requests_are_named_and_make_no_export(
    web, account, django_capture_on_commit_callbacks, form, says
):
    answer = _request(web, django_capture_on_commit_callbacks, **form)
    assert says in text_of(answer)
    assert not ReportExport.objects.exists()


def test_another_users_statement_is_neither_listed_nor_served(
    web, account, django_capture_on_commit_callbacks, django_user_model
):
    other = Client()
    ravi = django_user_model.objects.create_user("ravi")
    from django.contrib.auth.models import Group

    ravi.groups.add(Group.objects.get(name="Trader"))
    account.users.add(ravi)
    other.force_login(ravi)
    _request(other, django_capture_on_commit_callbacks)
    export = ReportExport.objects.get()
    assert "statements-list" not in html_of(web.get(reverse("web:funds")))
    assert web.get(reverse("api:report-export-file", args=[export.pk])).status_code == 404
