"""Check 2: are the workers alive, and can someone run every kind of pending work?"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count

from engine.models import Task, TaskState, Worker, WorkerState
from selfheal.checks.base import Check, CheckContext, CheckResult
from selfheal.models import Severity

NAMES_SHOWN = 20


class WorkersCheck(Check):
    name = "workers"
    title = "Workers and heartbeats"
    LOWER_IS_BETTER = ("late", "offline")

    # Workers beat every third of a lease; two missed beats make a worker late.
    LATE_AFTER_LEASE_FRACTION = 2 / 3

    def run(self, context: CheckContext) -> CheckResult:
        late_after = timedelta(
            seconds=settings.ENGINE_LEASE_SECONDS * self.LATE_AFTER_LEASE_FRACTION
        )
        offline_after = timedelta(seconds=settings.ENGINE_HEARTBEAT_GRACE_SECONDS)
        groups: dict[str, list[str]] = {"online": [], "late": [], "offline": [], "draining": []}
        capable: set[str] = set()
        known: set[str] = set()
        rows = Worker.objects.values_list(
            "name", "state", "last_heartbeat_at", "created_at", "capabilities"
        )
        for name, state, beat, created, capabilities in rows:
            known.update(capabilities or [])
            age = context.now - (beat or created)
            if state == WorkerState.OFFLINE or age > offline_after:
                groups["offline"].append(name)
            elif state == WorkerState.DRAINING:
                groups["draining"].append(name)
            elif age > late_after:
                groups["late"].append(name)
                capable.update(capabilities or [])
            else:
                groups["online"].append(name)
                capable.update(capabilities or [])
        stranded = dict(
            Task.objects.filter(state=TaskState.PENDING)
            .exclude(kind__in=sorted(capable))
            .order_by()
            .values_list("kind")
            .annotate(n=Count("id"))
        )
        evidence: dict[str, Any] = {
            "total": sum(len(names) for names in groups.values()),
            **{state: len(names) for state, names in groups.items()},
            "late_workers": sorted(groups["late"])[:NAMES_SHOWN],
            "offline_workers": sorted(groups["offline"])[:NAMES_SHOWN],
            "capabilities_online": sorted(capable),
            "capabilities_without_online_worker": sorted((known | set(stranded)) - capable),
            "pending_without_capable_worker": stranded,
        }
        return self._judge(evidence, stranded)

    def _judge(self, evidence: dict[str, Any], stranded: dict[str, int]) -> CheckResult:
        alive = evidence["online"] + evidence["late"]
        if alive == 0 and stranded:
            return CheckResult(
                Severity.CRITICAL,
                f"No worker is online, and {sum(stranded.values())} pending task(s) wait.",
                evidence,
                "Start a worker (`manage.py run_worker`) or bring the registered ones back.",
            )
        if stranded:
            kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(stranded.items()))
            return CheckResult(
                Severity.WARNING,
                f"Pending work that no online worker can run: {kinds}.",
                evidence,
                "Start a worker with these capabilities, or approve the tasks to another kind.",
            )
        if evidence["late"]:
            return CheckResult(
                Severity.WARNING,
                f"{evidence['late']} worker(s) are late with their heartbeat.",
                evidence,
                "Look at the late workers' hosts: overloaded, paused, or losing the network.",
            )
        if evidence["offline"]:
            return CheckResult(
                Severity.INFO,
                f"{evidence['online']} worker(s) online, {evidence['offline']} offline.",
                evidence,
                "Offline workers are harmless while the others cover their capabilities.",
            )
        if alive == 0:
            return CheckResult(
                Severity.INFO, "No worker is registered, and no work waits.", evidence
            )
        return CheckResult(
            Severity.OK, f"All {evidence['online']} worker(s) are online and beating.", evidence
        )
