"""The daily scan: each enabled repository whose head has moved since its last scan gets a
scan queued for a worker (the engine task `codehealth.scan`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from codehealth.errors import CodehealthError
from codehealth.models import Repository, Scan
from codehealth.services.code import resolve_commit
from codehealth.services.scans import start_scan
from engine.services.history import Actor


@dataclass(frozen=True)
class DailyScan:
    repository: str
    outcome: str  # "queued", "skipped" or "failed"
    reason: str = ""
    commit: str = ""
    scan: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def queue_daily_scan(repository: Repository, *, actor: Actor) -> DailyScan:
    """Queue a scan of the default branch unless its head commit already has a finished
    scan (a failed one does not count) or a scan of the repository is under way."""
    name = repository.name
    try:
        head = resolve_commit(repository, repository.default_branch)
    except CodehealthError as exc:
        return DailyScan(name, "failed", f"cannot resolve {repository.default_branch}: {exc}")
    done = Scan.objects.done().filter(repository=repository, commit=head).first()
    if done is not None:
        return DailyScan(name, "skipped", f"scan #{done.pk} already saw it", head, done.pk)
    running = Scan.objects.unfinished().filter(repository=repository).first()
    if running is not None:
        return DailyScan(name, "skipped", f"scan #{running.pk} is under way", head, running.pk)
    scan = start_scan(repository=repository, ref=repository.default_branch, actor=actor)
    return DailyScan(name, "queued", "", head, scan.pk)


def queue_daily_scans(*, actor: Actor) -> list[DailyScan]:
    return [queue_daily_scan(r, actor=actor) for r in Repository.objects.enabled()]
