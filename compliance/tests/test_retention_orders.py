"""Archiving a month of orders with their fills, ledger entries, outbox and paper rows:
refused while one is still working or under a legal hold; verified and restored identical
(their release: test_retention_release_books.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from compliance.retention.archive import archive_month
from compliance.retention.errors import ArchiveRefused
from compliance.retention.restore import archive_restore, restored_rows
from compliance.retention.services import legal_hold_place
from compliance.retention.verify import archive_verify, manifest_read
from compliance.tests.retention_fixtures import LATER, this_month
from orders.models import Fill, LedgerEntry, Order, OrderOutbox, PaperOrder
from orders.services import fill_apply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("archive_dir")]
MODELS = (Order, Fill, LedgerEntry, OrderOutbox, PaperOrder)


def online(model) -> list[dict]:
    rows = model.objects.order_by("id")
    if model is LedgerEntry:
        rows = rows.filter(order__isnull=False) | rows.filter(fill__isnull=False)
    return list(rows.order_by("id").values())


def test_a_working_order_refuses_the_month_then_its_fills_archive_with_it(
    resting, archive_officers
):
    asha = archive_officers[0]
    with pytest.raises(ArchiveRefused, match=f"still working: order {resting.pk} OPEN"):
        archive_month(kind="orders", month=this_month(), actor=asha, today=LATER)

    fill_apply(order=resting, broker_fill_id="T-1", quantity=10, price=Decimal("1400.00"))
    resting.refresh_from_db()
    assert resting.status == "COMPLETE"
    before = {model: online(model) for model in MODELS}
    assert all(before.values())  # a row of each table to archive

    run = archive_month(kind="orders", month=this_month(), actor=asha, today=LATER)
    entries = {e["table"]: e["rows"] for e in manifest_read(run)["files"]}
    assert entries == {m._meta.db_table: len(before[m]) for m in MODELS}
    assert archive_verify(run=run).rows == sum(entries.values())
    archive_restore(run=run, actor=archive_officers[1])
    for model in MODELS:
        assert restored_rows(run, model) == before[model], model.__name__


def test_a_legal_hold_on_the_client_refuses_its_orders_month(resting, archive_officers):
    fill_apply(order=resting, broker_fill_id="T-1", quantity=10, price=Decimal("1400.00"))
    legal_hold_place(client=resting.account.client, reason="SEBI", actor=archive_officers[0])
    client = resting.account.client_id
    with pytest.raises(ArchiveRefused, match=f"orders of client {client} are under legal hold"):
        archive_month(kind="orders", month=this_month(), actor=archive_officers[0], today=LATER)


def test_orders_months_are_archived_in_order(resting, archive_officers):
    from marketdata.calendar import IST

    fill_apply(order=resting, broker_fill_id="T-1", quantity=10, price=Decimal("1400.00"))
    earlier = resting.created_at - dt.timedelta(days=40)
    Order.objects.filter(pk=resting.pk).update(created_at=earlier)
    with pytest.raises(ArchiveRefused, match=f"orders of {earlier.astimezone(IST):%Y-%m} are not"):
        archive_month(kind="orders", month=this_month(), actor=archive_officers[0], today=LATER)
    run = archive_month(
        kind="orders", month=f"{earlier.astimezone(IST):%Y-%m}", actor=archive_officers[0],
        today=LATER,
    )  # fmt: skip
    assert run.key_first == run.key_last == str(resting.pk)


def test_a_month_of_the_ledger_archives_the_entries_of_no_order(resting, archive_officers):
    """The account's deposit (no order); the fill's postings go with the orders."""
    fill_apply(order=resting, broker_fill_id="T-1", quantity=10, price=Decimal("1400.00"))
    deposits = list(
        LedgerEntry.objects.filter(order__isnull=True, fill__isnull=True).order_by("id").values()
    )
    assert deposits
    assert LedgerEntry.objects.filter(order=resting).exists()  # not the ledger kind's

    run = archive_month(kind="ledger", month=this_month(), actor=archive_officers[0], today=LATER)
    assert run.rows == len(deposits)
    archive_restore(run=run, actor=archive_officers[1])
    assert restored_rows(run, LedgerEntry) == deposits


def test_a_legal_hold_refuses_the_clients_ledger_month(resting, archive_officers):
    legal_hold_place(client=resting.account.client, reason="SEBI", actor=archive_officers[0])
    client = resting.account.client_id
    with pytest.raises(ArchiveRefused, match=f"ledger entries of client {client} are under"):
        archive_month(kind="ledger", month=this_month(), actor=archive_officers[0], today=LATER)
