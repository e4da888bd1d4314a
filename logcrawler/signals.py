"""Signals other apps may listen to; sent only after the change has committed.

``alert_changed(sender=Alert, alert=..., event="firing" | "resolved")``: the seam for the
operator stream. chat's publisher needs a chat session, so nothing in chat relays these yet;
a listener connected in chat's (or the project's) ``ready()`` can.
"""

from __future__ import annotations

from django.dispatch import Signal

alert_changed = Signal()
