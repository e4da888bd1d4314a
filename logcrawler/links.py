"""The engine task page's links into the log crawler: the alert that opened a task (with
its state, so a task done while its alert still fires does not look finished) and the
fingerprint it is about.

And the links out of a fingerprint's page, the engine's seam's shape: an app above
registers, in its ``AppConfig.ready()``, a function that reads a fingerprint and answers
the links it knows (its own pages); the fingerprint page shows them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.urls import reverse

from engine.links import TaskLink, ref_id
from engine.models import Task
from logcrawler.models import Alert, AlertState, ErrorFingerprint

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


FingerprintLinker = Callable[[ErrorFingerprint], Iterable[TaskLink]]

_fingerprint_linkers: dict[str, FingerprintLinker] = {}


def register_fingerprint_links(app: str, linker: FingerprintLinker) -> None:
    """One linker per app; registering again replaces it (ready() may run twice in tests)."""
    _fingerprint_linkers[app] = linker


def fingerprint_links(fingerprint: ErrorFingerprint) -> list[TaskLink]:
    return [link for linker in _fingerprint_linkers.values() for link in linker(fingerprint)]
