"""What a firing alert does besides its row: an engine task, a signed webhook, a signal,
a notice on the operator stream."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from chat.services import publish_ops_notice
from engine.models import Task, TaskSource
from engine.services import create_task
from logcrawler.models import Alert, ErrorFingerprint, Severity
from logcrawler.signals import alert_changed

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Juggernaut-Signature"
EVENT_HEADER = "X-Juggernaut-Event"
WEBHOOK_TIMEOUT_SECONDS = 5
PRIORITY = {
    Severity.LOW: 30,
    Severity.MEDIUM: 50,
    Severity.HIGH: 70,
    Severity.CRITICAL: 90,
}
_SEVERITY_FOR_LEVEL = {
    "CRITICAL": Severity.CRITICAL,
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
}


def severity_for(rule_severity: str, fingerprint: ErrorFingerprint | None) -> Severity:
    if rule_severity != Severity.AUTO:
        return Severity(rule_severity)
    if fingerprint is None:
        return Severity.HIGH
    return _SEVERITY_FOR_LEVEL.get(fingerprint.level, Severity.LOW)


def task_dedupe_key(alert: Alert) -> str:
    return subject_task_key(alert.subject)


def subject_task_key(subject: str) -> str:
    """One task per fingerprint (or service), whoever opens it: an alert or self-heal."""
    return f"logcrawler:{subject}"


def _instructions(alert: Alert) -> str:
    fingerprint = alert.fingerprint
    if fingerprint is None:
        return (
            f"{alert.title}. {alert.detail} Find the failing requests' cause in the service's "
            "recent error fingerprints (logs_top_errors, logs_search_entries) and fix it."
        )
    return (
        f"{alert.title}. Investigate log fingerprint {fingerprint.id} "
        f"({fingerprint.service or 'unknown service'}): find the cause in the code and the "
        "recent entries (logs_fingerprint_detail, logs_search_entries) and propose a fix. "
        f"Template: {fingerprint.template[:500]}"
    )


def open_task(alert: Alert) -> Task:
    """The engine task for a firing alert; an unfinished one for the same subject is reused."""
    fingerprint = alert.fingerprint
    payload: dict[str, Any] = {
        "instructions": _instructions(alert),
        "mode": "ops",
        "alert": alert.pk,
        "rule": alert.rule.name,
        "reason": alert.reason,
        "subject": alert.subject,
    }
    if fingerprint is not None:
        payload |= {
            "fingerprint": fingerprint.id,
            "service": fingerprint.service,
            "level": fingerprint.level,
            "template": fingerprint.template[:2000],
            "total_count": fingerprint.total_count,
        }
    created = create_task(
        title=alert.title[:200],
        kind=settings.LOGCRAWLER_TASK_KIND,
        payload=payload,
        priority=PRIORITY.get(Severity(alert.severity), 50),
        dedupe_key=task_dedupe_key(alert),
        source=TaskSource.LOGCRAWLER,
        source_ref=f"alert:{alert.pk}",
    )
    return created.task


# What opens the work for a firing alert. An app above logcrawler (incidents) registers its
# own in its AppConfig.ready(), so logcrawler never imports it; without one, `open_task`.
AlertTaskOpener = Callable[[Alert], Task | None]
_task_opener: list[AlertTaskOpener] = []


def register_alert_task_opener(opener: AlertTaskOpener) -> None:
    _task_opener[:] = [opener]


def task_for_alert(alert: Alert) -> Task | None:
    """The task that works on a firing alert (None: the registered opener holds it back),
    inside the alert's transaction."""
    return _task_opener[0](alert) if _task_opener else open_task(alert)


def alert_document(alert: Alert, event: str) -> dict[str, Any]:
    fingerprint = alert.fingerprint
    return {
        "event": f"alert.{event}",
        "alert": {
            "id": alert.pk,
            "rule": alert.rule.name,
            "kind": alert.rule.kind,
            "subject": alert.subject,
            "title": alert.title,
            "reason": alert.reason,
            "state": alert.state,
            "severity": alert.severity,
            "value": alert.value,
            "detail": alert.detail,
            "opened_at": alert.opened_at.isoformat(),
            "fired_at": alert.fired_at.isoformat() if alert.fired_at else None,
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "task": alert.task_id,
            "fingerprint": fingerprint.id if fingerprint else None,
            "service": fingerprint.service if fingerprint else alert.subject.partition(":")[2],
        },
    }


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(alert: Alert, event: str) -> str:
    """POST the alert to LOGCRAWLER_WEBHOOK_URL, signed; what happened, for the alert row."""
    url = settings.LOGCRAWLER_WEBHOOK_URL
    if not url:
        return ""
    body = json.dumps(alert_document(alert, event), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", EVENT_HEADER: f"alert.{event}"}
    if settings.LOGCRAWLER_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = sign(body, settings.LOGCRAWLER_WEBHOOK_SECRET)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return f"{event}: failed ({type(exc).__name__})"
    return f"{event}: HTTP {response.status_code}"


def announce(alert: Alert, event: str) -> None:
    """After commit: the webhook (when the rule wants it) and the alert_changed signal."""

    def deliver() -> None:
        if alert.rule.send_webhook:
            status = send_webhook(alert, event)
            if status:
                Alert.objects.filter(pk=alert.pk).update(webhook_status=status[:300])
        for receiver, error in alert_changed.send_robust(sender=Alert, alert=alert, event=event):
            if isinstance(error, Exception):
                log.warning("alert_changed receiver %r failed: %s", receiver, error)

    transaction.on_commit(deliver)


def alert_notice(alert: Alert) -> dict[str, Any]:
    fingerprint_id = alert.fingerprint_id
    url = (
        reverse("logcrawler:fingerprint", args=[fingerprint_id])
        if fingerprint_id
        else reverse("logcrawler:page")
    )
    return {
        "alert": alert.pk,
        "title": alert.title,
        "severity": alert.severity,
        "fingerprint": fingerprint_id,
        "task": alert.task_id,
        "url": url,
    }


def notify_operators(sender: Any, *, alert: Alert, event: str, **kwargs: Any) -> None:
    """The alert_changed receiver: a newly firing alert goes out on the operator stream."""
    if event == "firing":
        publish_ops_notice("alert", alert_notice(alert))
