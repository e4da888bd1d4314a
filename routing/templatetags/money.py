"""`{% load money %}` then `{{ amount|money }}`: every amount on a page, written one way."""

from __future__ import annotations

from django import template

from routing.money import Amount, format_money

register = template.Library()


@register.filter(name="money")
def money(amount: Amount | None) -> str:
    try:
        return format_money(amount)
    except ValueError:
        return "—"  # a template shows what it can; a bad value is never a 500
