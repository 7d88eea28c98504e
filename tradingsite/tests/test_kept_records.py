"""No control or trading record can be deleted, or edited around its service, by any path.

Walks every model, every registered admin and every API route, so a record kind or a route
added later is covered without a new test: code and the shell (model and queryset delete),
cascades from a deleted parent, the admin (delete view, the bulk "delete selected" action,
change forms, inlines), the API (DELETE/PUT/PATCH handlers), and on PostgreSQL raw SQL.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import DatabaseError, connection, models, transaction
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from compliance.kyc.models import KycApplication
from compliance.kyc.services import EDITABLE_FIELDS
from compliance.models import Client
from compliance.reports.contract_note_files import demo_signer
from compliance.reports.dispatch import contract_notes_dispatch
from compliance.reports.exports import report_export_request
from compliance.reports.services import contract_notes_generate
from compliance.retention.models import ArchiveRun, RetentionPolicy
from compliance.retention.services import legal_hold_place
from compliance.services import audit_checkpoint
from compliance.tests.retention_fixtures import seeded_policies
from conftest import require
from marketdata.models import Instrument
from ops.apikeys import api_key_create
from ops.db_roles import AUDIT_TABLES
from orders.eod import margin_snapshots_take
from orders.execution import execution_submit
from orders.models import Holding, LedgerCarryForward, TradingAccount
from orders.services import fill_apply, order_place
from orders.tests.fixtures import request
from risk.choices import KillSwitchLevel, LimitKind, Scope
from risk.models import Desk, KillSwitch
from risk.services import kill_switch_trip, limit_propose
from strategies.live.models import DeploymentDecision
from strategies.live.services import deployment_create
from tradingsite.records import RecordNotDeletable, is_kept

KEPT = {
    "compliance.auditcheckpoint", "compliance.auditevent", "compliance.case",
    "compliance.casenote", "compliance.client", "compliance.contractnotedispatch",
    "compliance.contractnoterecord", "compliance.reportexport", "compliance.strreport",
    "compliance.archiverun", "compliance.legalhold", "compliance.retentionpolicy",
    "compliance.kycapplication", "compliance.kycdocument",
    "ops.apikey",
    "orders.fill", "orders.holding", "orders.ledgercarryforward", "orders.ledgerentry",
    "orders.marginsnapshot", "orders.order",
    "orders.orderoutbox", "orders.position", "orders.tradingaccount",
    "risk.accountexposure", "risk.breach", "risk.killswitch", "risk.limitchange",
    "strategies.deploymentdecision", "strategies.strategydeployment",
}  # fmt: skip

#: Kept records whose admin change form edits master data (every save is audited); the
#: fields it may edit. Everything else about them changes only through their services.
ADMIN_EDITABLE = {
    TradingAccount: {"users", "brokerage_plan", "broker", "status", "kind"},  # kind: audited
    Client: {"name", "bank_account_number", "bank_ifsc"},  # KYC state: its services only
    KycApplication: set(EDITABLE_FIELDS),  # a draft's declared data, saved by its service
    RetentionPolicy: {"retention_years", "online_months"},  # retention_policy_change, audited
}

#: The API's only handlers that change a kept record, each a service call.
API_WRITES = {
    ("OrderDetail", "delete"): "order_cancel",
    ("OrderDetail", "patch"): "order_modify",
    ("ApiKeyStaticIps", "put"): "api_key_bind_ips",
}


def kept_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if is_kept(m)]


@pytest.fixture
def books(
    account, risk_managers, user_in_role, kyc_application, worked_case, tmp_path, export_registers
):
    """At least one row of every kept record."""
    rina, _ = risk_managers
    for price in ("1400.00", "1300.00"):  # both rest on the paper exchange
        order = order_place(
            account=account, request=request(order_type="LIMIT", price=Decimal(price))
        )
        execution_submit(order.order.pk)
    fill = fill_apply(order=order.order, broker_fill_id="T-1", quantity=4, price=Decimal(1300))
    contract_notes_generate(day=fill.trade_date, signer=demo_signer(tmp_path / "signer"))
    contract_notes_dispatch()  # the client has no KYC e-mail: a failed dispatch
    officer = user_in_role("Compliance Officer", "books_co")
    report_export_request(user=officer, kind="test_audit", fmt="csv", data={})  # queued
    Holding.objects.create(account=account, instrument=Instrument.objects.get(tradingsymbol="INFY"))
    margin_snapshots_take(kind="close")
    limit_propose(
        actor=rina, scope=Scope.ACCOUNT, account=account, kind=LimitKind.MAX_ORDER_QUANTITY,
        value=Decimal(100), reason="cap",
    )  # fmt: skip
    kill_switch_trip(
        level=KillSwitchLevel.ACCOUNT, account=account, reason="daily loss",
        breaches=[(LimitKind.MAX_DAILY_LOSS, Decimal(1000), Decimal(2000))],
    )  # fmt: skip
    algo = user_in_role("Algo Client", "algo")
    api_key_create(
        actor=algo, user=account.users.get(), account=account, label="bot", primary_ip="127.0.0.1"
    )
    kyc_application()  # a draft with its documents
    worked_case("str_filed")  # a case, its notes and its STR draft
    seeded_policies()  # a transactional test's flush before this one empties them
    officer = user_in_role("Compliance Officer", "hold_co")
    legal_hold_place(client=account.client, reason="inquiry", actor=officer)
    run = ArchiveRun.objects.create(
        kind="audit_events", month=dt.date(2020, 3, 1), prefix="audit_events/2020-03/x/",
        manifest_name="audit_events/2020-03/x/manifest.json", manifest_sha256="0" * 64,
        requested_by=officer,
    )  # fmt: skip
    LedgerCarryForward.objects.create(
        archive_run=run, account=account, amount=Decimal(0), entries=0,
        first_posted_at=run.created_at, last_posted_at=run.created_at,
    )  # fmt: skip
    deployment = deployment_create(
        actor=user_in_role("Quant", "books_quant"), strategy="sma_cross", params={},
        account=account, instrument=Instrument.objects.get(tradingsymbol="INFY"), quantity=1,
        capital=Decimal(100000), algo_id="BOOKS-1", history_from=run.created_at,
    )  # fmt: skip
    DeploymentDecision.objects.create(deployment=deployment, bar_start=run.created_at)
    audit_checkpoint()
    empty = [m._meta.label_lower for m in kept_models() if not m.objects.exists()]
    assert not empty, f"the fixture must make a row of each kept record: {empty}"
    return account


def counts() -> dict[str, int]:
    return {m._meta.label_lower: m.objects.count() for m in kept_models()}


def test_the_kept_records_are_the_books_and_the_controls():
    assert {m._meta.label_lower for m in kept_models()} == KEPT


@pytest.mark.django_db
@pytest.mark.usefixtures("books")
def test_code_and_the_shell_cannot_delete_a_kept_record():
    before = counts()
    for model in kept_models():
        with pytest.raises((RecordNotDeletable, RuntimeError), match=r"refused|never deleted"):
            model.objects.all().delete()
        with pytest.raises((RecordNotDeletable, RuntimeError), match=r"refused|never deleted"):
            model.objects.first().delete()
    assert counts() == before


def test_every_foreign_key_of_a_kept_record_protects_it_from_cascades():
    loose = [
        f"{model._meta.label}.{field.name}: {field.remote_field.on_delete.__name__}"
        for model in kept_models()
        for field in model._meta.concrete_fields
        if field.is_relation
        and not is_kept(field.related_model)
        and field.remote_field.on_delete not in (models.PROTECT, models.RESTRICT)
    ]
    assert not loose, f"deleting the parent would delete or edit the record: {loose}"


@pytest.mark.django_db
def test_deleting_a_parent_does_not_cascade_into_the_books(books, django_user_model):
    desk = Desk.objects.create(name="Equities")
    limit_propose(
        actor=django_user_model.objects.get(username="rina"), scope=Scope.DESK, desk=desk,
        kind=LimitKind.MAX_ORDER_VALUE, value=Decimal(1), reason="cap",
    )  # fmt: skip
    before = counts()
    with pytest.raises(ProtectedError):
        books.users.get().delete()  # placed orders and holds an API key
    with pytest.raises(ProtectedError):
        Instrument.objects.get(tradingsymbol="INFY").delete()
    with pytest.raises(ProtectedError):
        desk.delete()
    assert counts() == before


@pytest.fixture
def superuser_client(django_user_model, otp_login):
    from django.test import Client as WebClient

    boss = django_user_model.objects.create_superuser("boss", password="not-a-real-password-1")
    return otp_login(WebClient(), boss), boss


def kept_admins():
    return [(m, a) for m, a in admin.site._registry.items() if is_kept(m)]


@pytest.mark.django_db
def test_the_admin_deletes_no_kept_record_by_any_of_its_paths(books, superuser_client):
    web, boss = superuser_client
    http = RequestFactory().get("/admin/")
    http.user = boss
    before = counts()
    assert kept_admins(), "the walk found no admin of a kept record"
    for model, model_admin in kept_admins():
        obj = model.objects.first()
        opts = model._meta
        where = f"{opts.label} admin"
        assert not model_admin.has_delete_permission(http, obj), where
        assert "delete_selected" not in model_admin.get_actions(http), where
        page = web.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/delete/")
        assert page.status_code in (403, 302), f"{where}: delete page answered {page.status_code}"
        bulk = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
        web.post(f"/admin/{opts.app_label}/{opts.model_name}/", bulk)
        for inline in model_admin.get_inline_instances(http, obj):
            assert not (is_kept(inline.model) and inline.can_delete), f"{where}: {inline}"
    for model_admin in admin.site._registry.values():
        for inline in model_admin.get_inline_instances(http, None):
            assert not (is_kept(inline.model) and inline.can_delete), str(inline)
    assert counts() == before


@pytest.mark.django_db
def test_the_admin_edits_a_kept_record_only_where_its_service_allows(books, superuser_client):
    web, boss = superuser_client
    http = RequestFactory().get("/admin/")
    http.user = boss
    for model, model_admin in kept_admins():
        obj = model.objects.first()
        if not model_admin.has_change_permission(http, obj):
            continue
        assert model in ADMIN_EDITABLE, f"{model._meta.label}: its change form edits it"
        form = model_admin.get_form(http, obj, change=True)
        editable = set(form.base_fields) - set(model_admin.get_readonly_fields(http, obj))
        assert editable <= ADMIN_EDITABLE[model], f"{model._meta.label}: {editable}"
    # Money, code and client of an account do not move through its form.
    books.refresh_from_db()
    cash = books.cash_balance
    web.post(
        f"/admin/orders/tradingaccount/{books.pk}/change/",
        {"code": "HACKED", "cash_balance": "99999999", "status": "active",
         "brokerage_plan": "DISCOUNT", "broker": "paper", "users": [books.users.get().pk]},
    )  # fmt: skip
    books.refresh_from_db()
    assert (books.code, books.cash_balance) == ("TS0001", cash)


@pytest.mark.django_db
def test_the_tripper_cannot_lift_a_kill_switch_by_deleting_it(account, risk_managers, otp_login):
    """The defect as found: "Delete selected kill switches" let trading resume."""
    from django.test import Client as WebClient

    rina, _ = risk_managers
    web = otp_login(WebClient(), rina)
    web.post(
        "/admin/risk/killswitch/add/",
        {"level": "account", "mode": "halt", "account": account.pk, "reason": "fat finger"},
    )
    switch = KillSwitch.objects.get()
    page = web.post(
        "/admin/risk/killswitch/",
        {"action": "delete_selected", "_selected_action": [switch.pk], "post": "yes"},
        follow=True,
    )
    assert "Successfully deleted" not in page.content.decode()
    assert (
        web.post(f"/admin/risk/killswitch/{switch.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    switch.refresh_from_db()
    assert switch.active
    placed = order_place(account=account, request=request(quantity=1)).order
    assert placed.status == "REJECTED"
    assert placed.rejection_reasons[0]["code"] == "KILL_SWITCH"


def api_routes(resolver=None, prefix=""):
    """(route, view class) of every URL pattern under /api/."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            yield route, view


def test_the_api_changes_kept_records_only_through_their_services():
    found = {}
    for route, view in api_routes():
        for method in ("delete", "put", "patch"):
            if view is not None and hasattr(view, method):
                found[(view.__name__, method)] = route
    assert set(found) == set(API_WRITES), (
        f"a new API write handler must go through a service: {set(found) ^ set(API_WRITES)}"
    )
    from ops import api as ops_api
    from orders import api as orders_api

    for (view_name, method), service in API_WRITES.items():
        module = orders_api if hasattr(orders_api, view_name) else ops_api
        source = getattr(getattr(module, view_name), method).__code__.co_names
        assert service in source, f"{view_name}.{method} does not call {service}"


def sample_argument(match: re.Match) -> str:
    return {"code": "TS0001", "key": "NSE:INFY"}.get(match[2], "1" if match[1] == "int" else "x")


@pytest.mark.django_db
def test_delete_on_every_other_api_route_is_refused(books, django_user_model, settings):
    boss = django_user_model.objects.create_superuser("boss2", password="not-a-real-password-1")
    settings.API_RATE_PER_USER = 10_000
    api = APIClient()
    api.force_authenticate(boss)
    before = counts()
    tried = 0
    for route, view in api_routes():
        if view is None or (view.__name__, "delete") in API_WRITES:
            continue
        path = "/" + re.sub(r"<(\w+):(\w+)>", sample_argument, route)
        answer = api.delete(path)
        tried += 1
        assert answer.status_code in (401, 403, 404, 405), f"DELETE {path}: {answer.status_code}"
    assert tried > 10
    assert counts() == before


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.usefixtures("books")
def test_postgresql_refuses_delete_of_kept_rows_even_in_raw_sql(privileged_db):
    require(connection.vendor == "postgresql", "PostgreSQL")
    tables = [m._meta.db_table for m in kept_models() if not m._meta.proxy]

    def refuses(table: str, message: str) -> None:
        with (
            pytest.raises(DatabaseError, match=message),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a table name we chose

    # The app's own login: the trigger, or, for the audit trail, the runtime role's grants.
    for table in tables:
        by_grant = privileged_db.as_runtime_role and table in AUDIT_TABLES
        refuses(table, "permission denied for table" if by_grant else "refused")
    with privileged_db.connection_as("owner"):  # who holds every privilege on its tables
        for table in tables:
            refuses(table, "refused")
