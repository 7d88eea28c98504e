"""Releasing archived orders and ledger months from the online tables: the rows leave only
once they match their archive, the released postings are carried forward so the cash
balance and later statements still add up, reports over the released month are refused,
and a dangling reference, a changed row or a legal hold stops the release with nothing
deleted. On PostgreSQL the release deletes as the owner in a session of its own
(transactional tests); the triggers refuse everyone else."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from compliance.reports.registers import ReportParamsError
from compliance.reports.registers import report_params_parse as parse
from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused, ArchiveTampered
from compliance.retention.models import ArchiveRun, ArchiveStatus
from compliance.retention.release import RELEASE_FLAG, archive_release
from compliance.retention.restore import archive_restore, restored_rows
from compliance.retention.services import legal_hold_place
from conftest import require
from marketdata.calendar import IST
from orders.choices import LedgerKind
from orders.models import Fill, LedgerCarryForward, LedgerEntry, Order, OrderOutbox, PaperOrder
from orders.services import cash_from_ledger, fill_apply
from orders.tests.fixtures import assert_invariants

pytestmark = [pytest.mark.usefixtures("archive_dir", "transactional_db")]
LATER = dt.date(2099, 1, 1)  # the month of the orders placed now is long past then
MODELS = (Order, Fill, LedgerEntry, OrderOutbox, PaperOrder)


def this_month() -> str:
    return f"{timezone.now().astimezone(IST):%Y-%m}"


def of_orders(model) -> list[dict]:
    rows = model.objects.all()
    if model is LedgerEntry:
        rows = rows.filter(order__isnull=False) | rows.filter(fill__isnull=False)
    return list(rows.order_by("id").values())


@pytest.fixture
def filled(resting) -> Order:
    fill_apply(order=resting, broker_fill_id="T-1", quantity=10, price=Decimal("1400.00"))
    resting.refresh_from_db()
    assert resting.status == "COMPLETE"
    return resting


def archived(kind: str, officer) -> ArchiveRun:
    return archive_month(kind=kind, month=this_month(), actor=officer, today=LATER)


def test_a_released_orders_month_leaves_the_books_balanced_and_restores_identical(
    filled, archive_officers
):
    account = filled.account
    before = {model: of_orders(model) for model in MODELS}
    released_cash = sum(row["amount"] for row in before[LedgerEntry])
    deposits = list(LedgerEntry.objects.filter(order__isnull=True, fill__isnull=True).values())
    run = archived("orders", archive_officers[0])

    run = archive_release(run=run, actor=archive_officers[0])

    assert run.status == ArchiveStatus.RELEASED
    for model in MODELS:
        assert not of_orders(model), model.__name__
    assert list(LedgerEntry.objects.values()) == deposits  # the deposit is the ledger kind's
    carried = LedgerCarryForward.objects.get(archive_run=run)
    assert (carried.account_id, carried.amount) == (account.pk, released_cash)
    assert carried.entries == len(before[LedgerEntry])
    assert carried.last_posted_at == max(row["posted_at"] for row in before[LedgerEntry])
    account.refresh_from_db()
    assert cash_from_ledger(account) == account.cash_balance

    archive_restore(run=run, actor=archive_officers[1])
    for model in MODELS:
        assert restored_rows(run, model) == before[model], model.__name__
    with pytest.raises(
        ArchiveRefused, match=f"archive run {run.pk} is archived, online rows released"
    ):
        archive_release(run=run, actor=archive_officers[0])
    assert LedgerCarryForward.objects.count() == 1


def test_the_release_reads_the_archive_storage_before_any_transaction_or_lock(
    filled, archive_officers, monkeypatch
):
    from compliance.retention import release

    reads, read = [], release._archived_column

    def watched(run, entry, column):
        reads.append((entry["table"], column, connection.in_atomic_block))
        yield from read(run, entry, column)

    monkeypatch.setattr(release, "_archived_column", watched)
    run = archive_release(run=archived("orders", archive_officers[0]), actor=archive_officers[0])
    assert run.status == ArchiveStatus.RELEASED
    id_reads = [r for r in reads if r[1] == "id"]
    assert {table for table, *_ in id_reads} >= {"orders_order", "orders_fill"}
    assert not any(in_transaction for *_, in_transaction in reads), reads


def test_a_statement_after_the_release_opens_on_the_carried_balance(filled, archive_officers):
    account, officer = filled.account, archive_officers[0]
    tomorrow = timezone.now().astimezone(IST).date() + dt.timedelta(days=1)
    opening = {"date_from": tomorrow, "date_to": tomorrow, "account": account.pk}
    statement_before = parse("ledger_statement", opening, user=officer)
    release_month = archive_release(run=archived("orders", officer), actor=officer)

    from compliance.reports.registers import REGISTERS

    rows = list(
        REGISTERS["ledger_statement"].rows(parse("ledger_statement", opening, user=officer))
    )
    assert rows[0][-1] == account.cash_balance  # the opening balance, carry-forward included
    assert list(REGISTERS["ledger_statement"].rows(statement_before)) == rows

    today = timezone.now().astimezone(IST).date()
    among = {"date_from": today, "date_to": today, "account": account.pk}
    with pytest.raises(ReportParamsError) as refused:
        parse("ledger_statement", among, user=officer)
    (message,) = refused.value.errors["date_from"]
    assert f"ledger entries of account {account.pk} up to {today:%Y-%m-%d}" in message
    assert f"archive run {release_month.pk}" in message

    with pytest.raises(ReportParamsError) as refused:
        parse("trade_register", {"date_from": today, "date_to": today}, user=officer)
    assert (
        f"{this_month()} have left the online tables (archive run {release_month.pk})"
        in (refused.value.errors["date_from"][0])
    )


def test_a_released_ledger_month_is_carried_forward_per_account(filled, archive_officers):
    account, officer = filled.account, archive_officers[0]
    deposits = LedgerEntry.objects.filter(order__isnull=True, fill__isnull=True)
    total = deposits.aggregate(t=Sum("amount"))["t"]
    run = archive_release(run=archived("ledger", officer), actor=officer)
    assert not deposits.exists()
    assert LedgerEntry.objects.exists()  # the fill's postings go with the orders
    assert LedgerCarryForward.objects.get(archive_run=run).amount == total
    assert_invariants(account)  # the orders are still online: every invariant holds


def test_a_posting_for_an_archived_order_made_after_the_archive_stops_the_release(
    filled, archive_officers
):
    officer = archive_officers[0]
    run = archived("orders", officer)
    LedgerEntry.objects.create(
        account=filled.account, kind=LedgerKind.ADJUSTMENT, amount=Decimal("-1.00"), order=filled
    )
    with pytest.raises(ArchiveRefused, match=r"still refer to rows it holds.*nothing was deleted"):
        archive_release(run=run, actor=officer)
    assert Order.objects.filter(pk=filled.pk).exists()
    assert Fill.objects.exists()
    assert not LedgerCarryForward.objects.exists()
    run.refresh_from_db()
    assert run.status == ArchiveStatus.ARCHIVED


def test_an_online_row_changed_since_the_archive_is_not_released(filled, archive_officers):
    officer = archive_officers[0]
    run = archived("orders", officer)
    Order.objects.filter(pk=filled.pk).update(tag="changed")
    with pytest.raises(ArchiveTampered, match=f"orders_order row {filled.pk} differs from its"):
        archive_release(run=run, actor=officer)
    assert Order.objects.filter(pk=filled.pk).exists()
    assert not LedgerCarryForward.objects.exists()


def test_a_hold_placed_after_the_archive_refuses_the_release(filled, archive_officers):
    officer = archive_officers[0]
    run = archived("orders", officer)
    legal_hold_place(client=filled.account.client, reason="SEBI notice", actor=officer)
    client = filled.account.client_id
    with pytest.raises(ArchiveRefused, match=f"of client {client} are under legal hold"):
        archive_release(run=run, actor=officer)
    assert Order.objects.filter(pk=filled.pk).exists()


def test_only_the_owner_with_the_flag_may_delete_an_order_on_postgresql(filled, privileged_db):
    require(connection.vendor == "postgresql", "PostgreSQL")

    def delete(flag: bool) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if flag:
                cursor.execute("SELECT set_config(%s, 'on', true)", [RELEASE_FLAG])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("DELETE FROM orders_orderoutbox WHERE order_id = %s", [filled.pk])

    if privileged_db.as_runtime_role:  # the app's own login: refused, flag or not
        with pytest.raises(DatabaseError, match=r"kept records: DELETE refused|permission denied"):
            delete(flag=True)
    with privileged_db.connection_as("owner"):
        with pytest.raises(DatabaseError, match="orders_orderoutbox rows are kept records"):
            delete(flag=False)
        delete(flag=True)
    assert not OrderOutbox.objects.filter(order=filled).exists()


def test_the_api_refuses_an_export_over_a_released_month_and_makes_nothing(
    filled, archive_officers, api_client
):
    from compliance.reports.models import ReportExport
    from ops.models import JobRun

    officer = archive_officers[0]
    run = archive_release(run=archived("orders", officer), actor=officer)
    today = timezone.now().astimezone(IST).date().isoformat()
    api_client.force_authenticate(officer)
    jobs = JobRun.objects.count()
    answer = api_client.post(
        "/api/v1/report-exports",
        {"kind": "trade_register", "format": "csv", "date_from": today, "date_to": today},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    (message,) = answer.json()["errors"]["date_from"]
    assert f"(archive run {run.pk}): restore it (archive_restore {run.pk})" in message
    assert not ReportExport.objects.exists()
    assert JobRun.objects.count() == jobs
