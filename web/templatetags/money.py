"""Template filters for money the Indian way: ``{{ amount|inr }}`` -> ₹12,34,567.50."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def indian_grouping(value: Decimal, places: int = 2) -> str:
    """``value`` with lakh and crore grouping: 1234567.5 -> 12,34,567.50."""
    text = f"{abs(value):.{places}f}"
    whole, _, fraction = text.partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
    grouped = ",".join([*groups, tail]) if head else tail
    return ("-" if value < 0 else "") + grouped + (f".{fraction}" if fraction else "")


@register.filter
def inr(value) -> str:
    """Rupees with the sign, two decimals, Indian grouping; empty for no value."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{'-' if amount < 0 else ''}₹{indian_grouping(abs(amount))}"


@register.filter
def pct(value) -> str:
    """A fraction as a percent with two decimals (0.0123 -> 1.23 %); empty for none."""
    if value in (None, ""):
        return ""
    try:
        return f"{Decimal(str(value)) * 100:.2f} %"
    except InvalidOperation:
        return str(value)


@register.filter
def get(mapping, key):
    """``mapping[key]`` in a template (None when absent)."""
    return mapping.get(key) if hasattr(mapping, "get") else None
