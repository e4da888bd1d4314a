"""Alert rules: new (or regressed) fingerprints, spikes, sustained 5xx.

An alert is about a subject: a fingerprint's id, or ``5xx:<service>``. At most one alert per
rule and subject is open (pending or firing) at a time, held by a partial unique
constraint, so evaluating twice, or two processes evaluating at once, opens one alert.
Firing opens the work (`task_for_alert`: the incidents app registers its opener), sends
the webhook and the signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from logcrawler.levels import level_number
from logcrawler.models import (
    Alert,
    AlertRule,
    AlertState,
    ErrorFingerprint,
    ErrorOccurrence,
    FingerprintKind,
    FingerprintState,
    RuleKind,
)
from logcrawler.services.notify import announce, severity_for, task_for_alert

SUBJECT_5XX = "5xx:"


@dataclass
class EvaluationReport:
    opened: list[int] = field(default_factory=list)
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)

    def merge(self, other: EvaluationReport) -> None:
        self.opened += other.opened
        self.fired += other.fired
        self.resolved += other.resolved

    def as_dict(self) -> dict[str, list[int]]:
        return {"opened": self.opened, "fired": self.fired, "resolved": self.resolved}


def _minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _applies(rule: AlertRule, fingerprint: ErrorFingerprint) -> bool:
    return (
        fingerprint.state != FingerprintState.MUTED
        and fingerprint.level_no >= level_number(rule.min_level)
        and (not rule.service or rule.service == fingerprint.service)
    )


def fire(alert: Alert, *, now: datetime) -> None:
    alert.state = AlertState.FIRING
    alert.fired_at = now
    if alert.rule.create_task:
        task = task_for_alert(alert)
        alert.task = task
        if task is not None and alert.fingerprint is not None:
            ErrorFingerprint.objects.filter(pk=alert.fingerprint.pk).update(task=task)
    alert.save(update_fields=["state", "fired_at", "task"])
    announce(alert, "firing")


def resolve(alert: Alert, *, now: datetime, detail: str = "") -> None:
    was_firing = alert.state == AlertState.FIRING
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    if detail:
        alert.detail = detail
    alert.save(update_fields=["state", "resolved_at", "detail"])
    if was_firing:
        announce(alert, "resolved")


def open_alert(
    *,
    rule: AlertRule,
    subject: str,
    fingerprint: ErrorFingerprint | None,
    reason: str,
    title: str,
    value: float,
    detail: str,
    now: datetime,
    firing: bool,
) -> Alert | None:
    """Open an alert unless one is open for this rule and subject; None when deduplicated."""
    if Alert.objects.open().filter(rule=rule, subject=subject).exists():
        return None
    alert = Alert(
        rule=rule,
        fingerprint=fingerprint,
        subject=subject,
        reason=reason,
        title=title[:300],
        state=AlertState.PENDING,
        severity=severity_for(rule.severity, fingerprint),
        value=value,
        detail=detail,
        opened_at=now,
        last_evaluated_at=now,
        last_true_at=now,
    )
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None  # another evaluation opened it first
    if firing:
        fire(alert, now=now)
    return alert


def _fingerprint_title(reason: str, fingerprint: ErrorFingerprint) -> str:
    words = {"new": "New error", "regressed": "Regressed error", "spike": "Error spike"}
    service = f" in {fingerprint.service}" if fingerprint.service else ""
    return f"{words.get(reason, reason)}{service}: {fingerprint.template[:200]}"


@transaction.atomic
def alert_on_fingerprints(
    *, new: list[str], regressed: list[str], now: datetime | None = None
) -> EvaluationReport:
    """Run the new-fingerprint rules over fingerprints just created or just regressed."""
    now = now or timezone.now()
    report = EvaluationReport()
    rules = list(AlertRule.objects.filter(enabled=True, kind=RuleKind.NEW_FINGERPRINT))
    if not rules:
        return report
    regressed_ids = set(regressed)
    for fingerprint in ErrorFingerprint.objects.filter(pk__in=[*new, *regressed]):
        reason = "regressed" if fingerprint.pk in regressed_ids else "new"
        for rule in rules:
            if not _applies(rule, fingerprint):
                continue
            alert = open_alert(
                rule=rule,
                subject=fingerprint.pk,
                fingerprint=fingerprint,
                reason=reason,
                title=_fingerprint_title(reason, fingerprint),
                value=float(fingerprint.total_count),
                detail=f"{fingerprint.level} {fingerprint.kind} fingerprint first seen "
                f"{fingerprint.first_seen:%Y-%m-%d %H:%M:%S} UTC",
                now=now,
                firing=True,
            )
            if alert is not None:
                report.opened.append(alert.pk)
                report.fired.append(alert.pk)
    return report


def _spike_counts(rule: AlertRule, now: datetime) -> dict[str, tuple[int, int]]:
    """Fingerprint id -> (count in the window, count in the baseline before it)."""
    window_start = _minute(now) - timedelta(minutes=rule.window_minutes - 1)
    baseline_start = window_start - timedelta(minutes=rule.baseline_minutes)
    rows = ErrorOccurrence.objects.filter(
        minute__gte=baseline_start,
        minute__lte=now,
        fingerprint__level_no__gte=level_number(rule.min_level),
    ).exclude(fingerprint__state=FingerprintState.MUTED)
    if rule.service:
        rows = rows.filter(fingerprint__service=rule.service)
    counts = rows.values("fingerprint_id").annotate(
        recent=Sum("count", filter=Q(minute__gte=window_start)),
        baseline=Sum("count", filter=Q(minute__lt=window_start)),
    )
    return {row["fingerprint_id"]: (row["recent"] or 0, row["baseline"] or 0) for row in counts}


def is_spike(rule: AlertRule, recent: int, baseline: int) -> bool:
    """At least ``min_count`` in the window and ``factor`` times the baseline's rate."""
    expected = baseline * rule.window_minutes / max(rule.baseline_minutes, 1)
    return recent >= max(rule.min_count, 1) and recent >= rule.factor * expected


def evaluate_spike(rule: AlertRule, now: datetime) -> EvaluationReport:
    report = EvaluationReport()
    counts = _spike_counts(rule, now)
    spiking = {fid: c for fid, c in counts.items() if is_spike(rule, *c)}
    open_alerts = {a.subject: a for a in Alert.objects.open().filter(rule=rule)}
    fingerprints = ErrorFingerprint.objects.in_bulk(
        [fid for fid in spiking if fid not in open_alerts]
    )
    for fid, (recent, baseline) in spiking.items():
        detail = (
            f"{recent} in the last {rule.window_minutes} min against {baseline} in the "
            f"{rule.baseline_minutes} min before"
        )
        alert = open_alerts.get(fid)
        if alert is not None:
            Alert.objects.filter(pk=alert.pk).update(
                last_true_at=now, last_evaluated_at=now, value=recent, detail=detail
            )
            continue
        fingerprint = fingerprints.get(fid)
        if fingerprint is None:
            continue
        opened = open_alert(
            rule=rule,
            subject=fid,
            fingerprint=fingerprint,
            reason="spike",
            title=_fingerprint_title("spike", fingerprint),
            value=float(recent),
            detail=detail,
            now=now,
            firing=True,
        )
        if opened is not None:
            report.opened.append(opened.pk)
            report.fired.append(opened.pk)
    _clear(rule, open_alerts, keep=set(spiking), now=now, report=report)
    return report


def _clear(
    rule: AlertRule,
    open_alerts: dict[str, Alert],
    *,
    keep: set[str],
    now: datetime,
    report: EvaluationReport,
) -> None:
    """Open alerts whose condition no longer holds: pending ones end at once, firing ones
    once the condition has stayed clear for the rule's hold."""
    hold = timedelta(minutes=rule.hold_minutes)
    for subject, alert in open_alerts.items():
        if subject in keep:
            continue
        if alert.state == AlertState.PENDING:
            resolve(alert, now=now, detail="cleared before it had held long enough to fire")
            report.resolved.append(alert.pk)
        elif alert.last_true_at is None or now - alert.last_true_at >= hold:
            resolve(alert, now=now)
            report.resolved.append(alert.pk)
        else:
            Alert.objects.filter(pk=alert.pk).update(last_evaluated_at=now)


def http_counts(rule: AlertRule, now: datetime) -> dict[str, tuple[int, int]]:
    """Service -> (requests, 5xx) in the rule's window."""
    window_start = _minute(now) - timedelta(minutes=rule.window_minutes - 1)
    rows = ErrorOccurrence.objects.filter(
        minute__gte=window_start, minute__lte=now, fingerprint__kind=FingerprintKind.HTTP
    )
    if rule.service:
        rows = rows.filter(fingerprint__service=rule.service)
    counts = rows.values("fingerprint__service").annotate(
        total=Sum("count"), failed=Sum("count", filter=Q(fingerprint__status_class="5xx"))
    )
    return {row["fingerprint__service"]: (row["total"] or 0, row["failed"] or 0) for row in counts}


def is_5xx_breach(rule: AlertRule, total: int, failed: int) -> bool:
    if total < rule.min_count or not failed:
        return False
    share = failed / total
    return bool(
        (rule.threshold_share and share >= rule.threshold_share)
        or (rule.threshold_count and failed >= rule.threshold_count)
    )


def evaluate_sustained_5xx(rule: AlertRule, now: datetime) -> EvaluationReport:
    """Pending while the breach lasts; firing once it has held at every evaluation for
    ``for_minutes``; resolved once clear for ``hold_minutes``."""
    report = EvaluationReport()
    open_alerts = {a.subject: a for a in Alert.objects.open().filter(rule=rule)}
    breaching: set[str] = set()
    for service, (total, failed) in http_counts(rule, now).items():
        if not is_5xx_breach(rule, total, failed):
            continue
        subject = f"{SUBJECT_5XX}{service}"
        breaching.add(subject)
        detail = (
            f"{failed} of {total} requests failed with 5xx ({failed / total:.0%}) in the "
            f"last {rule.window_minutes} min"
        )
        alert = open_alerts.get(subject)
        if alert is None:
            alert = open_alert(
                rule=rule,
                subject=subject,
                fingerprint=None,
                reason="sustained_5xx",
                title=f"Sustained 5xx in {service or 'every service'}",
                value=failed / total,
                detail=detail,
                now=now,
                firing=False,
            )
            if alert is None:
                continue
            report.opened.append(alert.pk)
        alert.last_true_at = now
        alert.last_evaluated_at = now
        alert.value = failed / total
        alert.detail = detail
        alert.save(update_fields=["last_true_at", "last_evaluated_at", "value", "detail"])
        pending_for = now - alert.opened_at
        if alert.state == AlertState.PENDING and pending_for >= timedelta(minutes=rule.for_minutes):
            fire(alert, now=now)
            report.fired.append(alert.pk)
    _clear(rule, open_alerts, keep=breaching, now=now, report=report)
    return report


EVALUATORS = {
    RuleKind.SPIKE: evaluate_spike,
    RuleKind.SUSTAINED_5XX: evaluate_sustained_5xx,
}


def evaluate_alert_rules(*, now: datetime | None = None) -> EvaluationReport:
    """Evaluate every enabled windowed rule once (new-fingerprint rules run at ingest)."""
    now = now or timezone.now()
    report = EvaluationReport()
    for rule in AlertRule.objects.filter(enabled=True, kind__in=list(EVALUATORS)):
        with transaction.atomic():
            report.merge(EVALUATORS[RuleKind(rule.kind)](rule, now))
    return report
