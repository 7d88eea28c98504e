"""A suspicious transaction report as plain data: what ``compliance.cases.services`` gathers
from a case, and what ``compliance.cases.str_files`` writes out for FIU-IND (the
machine-readable file and the PDF for the file copy). Nothing here reads the database."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class ReportingEntity:
    name: str
    fiu_reid: str  # the reporting entity's ID with FIU-IND (e.g. "BRSEB00001")
    category: str  # e.g. "Stock broker"
    sebi_registration: str
    address: str
    city: str
    state: str
    pin_code: str


@dataclass(frozen=True)
class PrincipalOfficer:
    name: str
    designation: str
    email: str
    phone: str
    address: str


@dataclass(frozen=True)
class Subject:
    """A person (or entity) the report is about: a client of the case."""

    name: str
    pan: str
    date_of_birth: date | None
    nationality: str  # ISO 3166 two letters
    occupation: str
    address: str
    mobile: str
    email: str
    client_ref: str  # our client id


@dataclass(frozen=True)
class Account:
    account_number: str  # our trading account code
    holder_pan: str
    kind: str  # client / proprietary / staff
    status: str
    opened_on: date | None
    bank_ifsc: str


@dataclass(frozen=True)
class Transaction:
    """One order fill or ledger entry the suspicion rests on."""

    ref: str  # e.g. "fill:123" or "ledger:45"
    at: datetime
    account_number: str
    kind: str  # "trade" or the ledger kind ("deposit", "withdrawal", ...)
    instrument: str  # tradingsymbol; "" for cash
    side: str  # "BUY" / "SELL" for a trade, "CREDIT" / "DEBIT" for cash
    quantity: int  # 0 for cash
    price: Decimal | None
    amount: Decimal  # rupees, always positive
    currency: str = "INR"


@dataclass(frozen=True)
class SuspiciousTransactionReport:
    report_ref: str  # our reference, e.g. "STR-2026-000012"
    case_ref: str
    generated_at: datetime
    suspicion_determined_on: date
    due_on: date  # 7 days from the determination of suspicion
    reporting_entity: ReportingEntity
    principal_officer: PrincipalOfficer
    subjects: list[Subject]
    accounts: list[Account]
    transactions: list[Transaction]
    grounds_of_suspicion: str
    suspicion_categories: list[str] = field(default_factory=list)  # e.g. ["market_abuse"]
    alerts: list[str] = field(default_factory=list)  # "rule_code: summary", per alert
    action_taken: str = ""
    prepared_by: str = ""
    approved_by: str = ""


#: Why the entity suspects, in the grounds FIU-IND's STR guidance groups suspicion by
#: (code -> label); a report names one or more.
SUSPICION_CATEGORIES: dict[str, str] = {
    "identity": "Identity of the client (false or doubtful documents)",
    "background": "Background of the client (suspicious links or profile)",
    "multiple_accounts": "Multiple accounts or linked parties without reason",
    "account_activity": "Activity in the account out of line with the profile",
    "transaction_nature": "Nature of the transactions (no economic rationale, structuring)",
    "transaction_value": "Value of the transactions (out of line with income or net worth)",
    "market_abuse": "Market manipulation (wash, circular, spoofing, marking the close)",
    "terrorism_financing": "Suspected financing of terrorism",
}
