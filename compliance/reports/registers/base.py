"""What a report kind is, and how its filters are checked.

A :class:`Register` names its columns and the filters it takes, and yields its rows as
tuples in column order, in constant memory (chunked iteration). ``report_params_parse``
turns a request's filters (strings, from a form, the API or a schedule) into
:class:`ReportParams`, refusing bad ones with :class:`ReportParamsError`, whose ``errors``
name each field: from after to, a range over the cap, an unknown or unseen account,
client or instrument, a filter the kind does not take. A user who may see only their own
accounts (a client) may run only the statements, and only of their own client.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from tradingsite.errors import DomainError

#: Every filter a report kind may take.
FILTERS = ("date_from", "date_to", "account", "client", "instrument", "algo_id", "actor",
           "object_type", "object_id")  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str  # the machine name (CSV header, JSON key)
    header: str  # what a person reads (XLSX and PDF header)
    width: int = 12  # a hint for XLSX and PDF, in characters


@dataclass(frozen=True)
class ReportParams:
    """The checked filters of one report run; ``None`` where a filter is not set."""

    date_from: date | None = None
    date_to: date | None = None
    account_id: int | None = None
    client_id: int | None = None
    instrument_id: int | None = None
    algo_id: str = ""
    actor: str = ""  # an audit actor's username
    object_type: str = ""
    object_id: str = ""

    def as_json(self) -> dict[str, Any]:
        """The filters as stored on an export run (dates as ISO strings, unset ones left out)."""
        out = {}
        for name, value in self.__dict__.items():
            if value in (None, ""):
                continue
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out


class ReportParamsError(DomainError):
    """A report's filters are refused; ``errors`` name each bad field (a 400)."""

    problem_type = "validation-error"


@dataclass(frozen=True)
class Register:
    """One report kind: its columns, the filters it takes, and its rows.

    ``rows(params)`` yields one tuple per row, values in column order (``date``,
    ``datetime``, ``Decimal``, ``int``, ``str`` or ``None``), reading in chunks so that a
    million rows take constant memory. ``statement``: a client may run it for their own
    client (a statement), else only staff with the export permission may.
    ``needs``: filters that must be set (a ledger statement needs a client or an account).
    ``count(params)``, where a register has it, is how many rows ``rows(params)`` will yield,
    with one COUNT of the same filtered query (an export's progress total); a register
    whose rows are not one per row of a query (sums, merges, opening and closing rows) has
    none, rather than a guess.
    """

    kind: str
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[ReportParams], Iterator[tuple]]
    count: Callable[[ReportParams], int] | None = None
    filters: frozenset[str] = frozenset({"date_from", "date_to"})
    needs: frozenset[str] = frozenset()
    statement: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: Why the checked filters reach rows archives released from the online tables
    #: (``compliance.retention.released``): the run is refused, naming each.
    released: Callable[["ReportParams"], list[str]] | None = None


REGISTERS: dict[str, Register] = {}


def register(report: Register) -> Register:
    """Add ``report`` to :data:`REGISTERS` (a kind's module calls it at import)."""
    unknown = report.filters - set(FILTERS)
    if unknown:
        raise ValueError(f"{report.kind}: unknown filters {sorted(unknown)}")
    REGISTERS[report.kind] = report
    return report


def _date(errors: dict[str, list[str]], name: str, raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors.setdefault(name, []).append(f"{raw!r} is not a date (YYYY-MM-DD).")
        return None


def _id(errors: dict[str, list[str]], name: str, raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(f"{raw!r} is not an id.")
        return None
    if value <= 0:
        errors.setdefault(name, []).append(f"{raw!r} is not an id.")
        return None
    return value


def report_params_parse(
    kind: str, data: Mapping[str, Any], *, user: Any, key: Any = None
) -> ReportParams:
    """Check ``data``'s filters for a report of ``kind`` run by ``user``.

    Through an API ``key`` (bound to one trading account) only statements may be run, and
    only of the key's account, whatever the user's role.

    Raises :class:`ReportParamsError` (every bad field named) or, for a kind ``user`` may
    not run, :class:`PermissionError`.
    """
    from compliance.models import Client
    from marketdata.models import Instrument
    from orders.selectors import accounts_for

    try:
        report = REGISTERS[kind]
    except KeyError:
        raise ReportParamsError(
            f"No report {kind!r}.", errors={"kind": [f"Choose one of {sorted(REGISTERS)}."]}
        ) from None
    staff = key is None and user.has_perm("compliance.export_regulatory_reports")
    if not staff and not report.statement:
        raise PermissionError(f"The {report.title} is for compliance staff only.")
    errors: dict[str, list[str]] = {}
    given = {k for k, v in data.items() if v not in (None, "") and k not in ("kind", "format")}
    for name in sorted(given - report.filters):
        errors.setdefault(name, []).append(f"The {report.title} takes no {name} filter.")
    for name in sorted(report.needs - given):
        errors.setdefault(name, []).append(f"The {report.title} needs a {name}.")
    date_from = _date(errors, "date_from", data.get("date_from"))
    date_to = _date(errors, "date_to", data.get("date_to"))
    if date_from and date_to:
        if date_from > date_to:
            errors.setdefault("date_to", []).append(
                f"date_to {date_to} is before date_from {date_from}."
            )
        elif (date_to - date_from) > timedelta(days=settings.REPORT_MAX_DAYS - 1):
            errors.setdefault("date_to", []).append(
                f"The range is {(date_to - date_from).days + 1} days; the most is "
                f"{settings.REPORT_MAX_DAYS} (REPORT_MAX_DAYS)."
            )
    account_id = _id(errors, "account", data.get("account"))
    client_id = _id(errors, "client", data.get("client"))
    instrument_id = _id(errors, "instrument", data.get("instrument"))
    visible = accounts_for(user, key)
    if account_id and not visible.filter(pk=account_id).exists():
        errors.setdefault("account", []).append(f"No account {account_id} that you may see.")
    if client_id:
        if staff:
            seen = Client.objects.filter(pk=client_id).exists()
        else:
            seen = visible.filter(client_id=client_id).exists()
        if not seen:
            errors.setdefault("client", []).append(f"No client {client_id} that you may see.")
    if instrument_id and not Instrument.objects.filter(pk=instrument_id).exists():
        errors.setdefault("instrument", []).append(f"No instrument {instrument_id}.")
    if key is not None and not account_id and "account" in report.filters:
        account_id = key.account_id  # a key's statement is of the key's account
    if not staff and not (account_id or client_id) and "client" in report.filters:
        # A client's statement is always of their own: pin it to their one client.
        own = set(visible.values_list("client_id", flat=True))
        if len(own) == 1:
            client_id = own.pop()
        else:
            errors.setdefault("client", []).append("Name the client or the account.")
    if errors:
        raise ReportParamsError(f"The {report.title}'s filters are refused.", errors=errors)
    params = ReportParams(
        date_from=date_from,
        date_to=date_to,
        account_id=account_id,
        client_id=client_id,
        instrument_id=instrument_id,
        algo_id=str(data.get("algo_id") or "")[:32],
        actor=str(data.get("actor") or "")[:150],
        object_type=str(data.get("object_type") or "")[:100],
        object_id=str(data.get("object_id") or "")[:64],
    )
    if report.released is not None and (released := report.released(params)):
        raise ReportParamsError(
            f"The {report.title} reaches records archived out of the online tables.",
            errors={"date_from": released},
        )
    return params
