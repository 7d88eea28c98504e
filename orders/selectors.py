"""Reads of the orders app that other code shares, scoped to what a user may see."""

from decimal import Decimal

from django.db.models import QuerySet

from orders.models import Fill, Holding, LedgerEntry, Order, Position, TradingAccount

SEE_ALL = "orders.view_all_accounts"


def accounts_for(user, key=None) -> QuerySet[TradingAccount]:
    """Accounts ``user`` may see: those linked to them, or all with orders.view_all_accounts;
    through an API ``key``, only the key's account."""
    accounts = TradingAccount.objects.select_related("client")
    if key is not None:
        accounts = accounts.filter(pk=key.account_id)
    return accounts if user.has_perm(SEE_ALL) else accounts.filter(users=user)


def account_acts_for(user, account: TradingAccount) -> bool:
    """Whether ``user`` is linked to ``account`` (acting on it needs a link, not only a role)."""
    return account.users.filter(pk=user.pk).exists()


def orders_for(user, key=None) -> QuerySet[Order]:
    return Order.objects.filter(account__in=accounts_for(user, key)).select_related("account")


def fills_for(user, key=None) -> QuerySet[Fill]:
    return Fill.objects.filter(account__in=accounts_for(user, key)).select_related(
        "order", "account"
    )


def positions_for(user, key=None) -> QuerySet[Position]:
    return Position.objects.filter(account__in=accounts_for(user, key)).select_related(
        "account", "instrument"
    )


def holdings_for(user, key=None) -> QuerySet[Holding]:
    return Holding.objects.filter(account__in=accounts_for(user, key)).select_related(
        "account", "instrument"
    )


def ledger_for(user, key=None) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account__in=accounts_for(user, key)).select_related("account")


def margin_used(account: TradingAccount, *, on) -> Decimal:
    """Margin held by open intraday positions: their value at cost times the MIS margin share."""
    from orders.margins import margin_fraction

    used = Decimal("0.00")
    for quantity, average, symbol in (
        Position.objects.filter(account=account, product="MIS")
        .exclude(quantity=0)
        .values_list("quantity", "average_price", "instrument__tradingsymbol")
    ):
        used += abs(quantity) * average * margin_fraction(symbol=symbol, product="MIS", on=on)
    return used.quantize(Decimal("0.01"))


def funds_of(account: TradingAccount, *, on) -> dict[str, Decimal]:
    """Cash, funds blocked for open orders, intraday margin in use, and what is available."""
    used = margin_used(account, on=on)
    return {
        "cash": account.cash_balance,
        "blocked": account.blocked,
        "margin_used": used,
        "available": account.cash_balance - account.blocked - used,
    }
