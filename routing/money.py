"""Money: how much of it the database keeps, and the one way it is written for people.

Amounts keep 12 decimal places: the price table has per-token prices with 9 (0.000000075)
and a call can cost 0.00000000049, which 8 places rounded to nothing. Per-token prices keep
12 too. Every page, the admin and the errors write an amount with `format_money` (the
`money` template filter; `templates/static/juggernaut/money.js` is its twin in the browser,
held to the same answers by tests/routing/test_money.py); an API writes `money_text`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MONEY_PLACES = 12
MONEY_DIGITS = 24  # 12 whole digits, as the 8-place columns had
PRICE_PLACES = 12
PRICE_DIGITS = 24
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
SIGNIFICANT_DIGITS = 3  # below a dollar: $0.0125, $0.000004, $0.00000000049
CENT = Decimal("0.01")

Amount = Decimal | int | float | str


def as_decimal(amount: Amount) -> Decimal:
    """A Decimal from what a column, an aggregate (SQLite answers floats) or JSON gives."""
    if isinstance(amount, Decimal):
        return amount
    try:
        return Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {amount!r}") from None


def quantize_money(amount: Amount) -> Decimal:
    return as_decimal(amount).quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def money_text(amount: Amount) -> str:
    """An amount for an API or JSON: fixed-point, exact to 12 places, never `0E-8`."""
    value = quantize_money(amount).normalize()
    return f"{value:f}" if value else "0"


def format_money(amount: Amount | None) -> str:
    """An amount for people: `$1,234.50`, `$0.50`, `$0.0125`, `$0.00000000049`, `$0.00`.

    A dollar or more: cents. Below a dollar: three significant digits, at least two places,
    so that a call's cost is readable and a ceiling looks like one."""
    if amount is None:
        return "—"
    value = as_decimal(amount)
    if not value.is_finite():
        return "—"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1:
        return f"{sign}${value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    places = min(max(2, SIGNIFICANT_DIGITS - 1 - value.adjusted()), MONEY_PLACES)
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded >= 1:  # $0.9996 rounds up to a dollar
        return f"{sign}$1.00"
    whole, _, fraction = f"{rounded:f}".partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    if rounded == 0:
        sign = ""
    return f"{sign}${whole}.{fraction}"
