"""Export jobs with the real registers and writers: an officer's trade register as XLSX and a
client's own ledger statement as CSV, through the API, run by the task, downloaded and read
back against the book; another client's statement is refused."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from rest_framework.test import APIClient

from compliance.reports.registers import REGISTERS
from compliance.tests.report_fixtures import DAY0, DAY2
from conftest import problem
from orders.models import Fill, LedgerEntry

pytestmark = pytest.mark.django_db
EXPORTS = "/api/v1/report-exports"


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _export(api, body: dict, capture) -> bytes:
    with capture(execute=True):
        answer = api.post(EXPORTS, body, format="json")
    assert answer.status_code == 202, answer.content
    detail = api.get(answer["Location"]).json()
    assert detail["status"] == "succeeded", detail
    file = api.get(detail["file_url"])
    assert file.status_code == 200
    content = b"".join(file.streaming_content)
    assert len(content) == detail["size"]
    return detail, content


def test_an_officer_exports_the_trade_register_as_xlsx(book, django_capture_on_commit_callbacks):
    body = {"kind": "trade_register", "format": "xlsx", "date_from": DAY0.isoformat(),
            "date_to": DAY2.isoformat()}  # fmt: skip
    detail, content = _export(_api(book.staff), body, django_capture_on_commit_callbacks)
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    fills = Fill.objects.order_by("filled_at", "pk")
    assert detail["row_count"] == len(rows) == fills.count() > 0
    names = [c.name for c in REGISTERS["trade_register"].columns]
    assert header == [c.header for c in REGISTERS["trade_register"].columns]
    quantity = names.index("quantity")
    assert [row[quantity] for row in rows] == [f.quantity for f in fills]


def test_a_client_exports_their_own_ledger_and_not_another_clients(
    book, django_capture_on_commit_callbacks
):
    asha = _api(book.asha_user)
    body = {"kind": "ledger_statement", "format": "csv", "date_from": DAY0.isoformat(),
            "date_to": DAY2.isoformat()}  # fmt: skip
    detail, content = _export(asha, body, django_capture_on_commit_callbacks)
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    entries = LedgerEntry.objects.filter(account=book.asha)
    assert detail["row_count"] == len(rows)
    assert Decimal(rows[-1]["balance"]) == sum((e.amount for e in entries), Decimal(0))
    other = {**body, "client": book.ravi.client_id}
    refused = problem(asha.post(EXPORTS, other, format="json"), 400, "validation-error")
    assert "client" in refused["errors"]
    staff_only = {**body, "kind": "trade_register"}
    problem(asha.post(EXPORTS, staff_only, format="json"), 403, "permission-denied")
