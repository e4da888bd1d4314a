"""The engine task page's links into the log crawler: the alert that opened a task (with
its state, so a task done while its alert still fires does not look finished) and the
fingerprint it is about."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from engine.links import TaskLink, ref_id
from engine.models import Task
from logcrawler.models import Alert, AlertState

BADGES = {AlertState.FIRING: "failed", AlertState.PENDING: "waiting_approval"}


def task_links(task: Task) -> Iterable[TaskLink]:
    fingerprint = task.payload.get("fingerprint") if isinstance(task.payload, dict) else None
    alert_id = ref_id(task, "alert")
    alert = Alert.objects.filter(pk=alert_id).first() if alert_id is not None else None
    if alert is not None:
        fingerprint = fingerprint or alert.fingerprint_id
        url = reverse("logcrawler:page") + "#alerts"
        if alert.fingerprint_id:
            url = reverse("logcrawler:fingerprint", args=[alert.fingerprint_id])
        yield TaskLink(
            f"Alert #{alert.pk} {alert.title[:80]}",
            url,
            state=f"alert {alert.get_state_display().lower()}",
            badge=BADGES.get(AlertState(alert.state), "done"),
        )
    if isinstance(fingerprint, str) and fingerprint:
        yield TaskLink(
            f"Fingerprint {fingerprint[:12]}", reverse("logcrawler:fingerprint", args=[fingerprint])
        )
