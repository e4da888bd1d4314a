"""`{% load session_links %}` then `{% session_ref ref %}`: a ledger's session reference, as a
link to its page when the app that names it registered one (routing.sessions)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from routing.sessions import session_url

register = template.Library()


@register.simple_tag
def session_ref(reference: str | None) -> SafeString | str:
    if not reference:
        return "—"
    url = session_url(reference)
    if url is None:
        return reference
    return format_html('<a href="{}">{}</a>', url, reference)
