"""Rows the incidents' tests start from: a fixed incident with its groups' occurrences, a
code-health finding."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine

from codehealth.models import Finding, Repository, RepositoryKind
from incidents.models import Incident
from incidents.services import open_incident
from logcrawler.models import ErrorFingerprint, ErrorOccurrence


def make_finding(**fields: Any) -> Finding:
    repository, _ = Repository.objects.get_or_create(
        name="shop", defaults={"kind": RepositoryKind.LOCAL, "path": "/srv/shop"}
    )
    values: dict[str, Any] = {
        "repository": repository,
        "fingerprint": f"fp-{Finding.objects.count()}",
        "tool": "mypy",
        "rule": "index",
        "kind": "type",
        "severity": "high",
        "path": "shop/pricing.py",
        "line": 5,
        "anchor": "price",
        "message": 'Invalid index type "str" for "dict"',
    }
    return Finding.objects.create(**{**values, **fields})


def group(pk: str, began: datetime) -> ErrorFingerprint:
    return ErrorFingerprint.objects.create(
        id=pk, kind="message", template=pk, level="ERROR", level_no=40,
        first_seen=began, last_seen=began + timedelta(minutes=20), total_count=9,
    )  # fmt: skip


def fixed_incident(began: datetime) -> Incident:
    """Two groups seen 9 times in the first 20 minutes, the fix applied 10 minutes after,
    verified if quiet until 2.5 hours after it began."""
    with time_machine.travel(began, tick=False):
        incident = open_incident(title="KeyError", source="logcrawler", actor="system:test")
    one, two = group("g1", began), group("g2", began)
    incident.fingerprints.add(one, two)
    for minute, count in ((0, 3), (10, 2), (20, 1)):
        ErrorOccurrence.objects.create(
            fingerprint=one, minute=began + timedelta(minutes=minute), count=count
        )
    ErrorOccurrence.objects.create(fingerprint=two, minute=began + timedelta(minutes=10), count=3)
    Incident.objects.filter(pk=incident.pk).update(
        state="verifying",
        applied_at=began + timedelta(minutes=30),
        verify_until=began + timedelta(minutes=150),
    )
    incident.refresh_from_db()
    return incident
