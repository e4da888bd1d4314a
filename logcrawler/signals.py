"""Signals other apps may listen to; sent only after the change has committed.

``alert_changed(sender=Alert, alert=..., event="firing" | "resolved")``. logcrawler's own
``ready()`` connects `notify_operators`, which puts firing alerts on the operator stream
(chat's ``publish_ops_notice``); other apps may listen too.
"""

from __future__ import annotations

from django.dispatch import Signal

alert_changed = Signal()
