"""Demo data for a first `make run`: a queue with something in every interesting state."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from engine.models import Task, TaskSource
from engine.services.history import system_actor
from engine.services.tasks import create_task, mark_waiting_approval

DEMO_SOURCE_REF = "demo"

# Other apps add their own demo data by registering a seeder in AppConfig.ready(). A seeder
# is idempotent and returns a line saying what it created.
DemoSeeder = Callable[[], str]
_demo_seeders: dict[str, DemoSeeder] = {}


def register_demo_seeder(name: str, seeder: DemoSeeder) -> None:
    _demo_seeders[name] = seeder


def seed_demo_data() -> list[str]:
    """Run every registered seeder, the engine's first; one line per seeder."""
    lines = []
    for name, seeder in _demo_seeders.items():
        lines.append(f"{name}: {seeder()}")
    return lines


@dataclass(frozen=True)
class AdminAccount:
    username: str
    password: str | None  # None when the account already existed


def ensure_admin_account(*, username: str = "admin") -> AdminAccount:
    """Create the first superuser with a random password, returned once and never stored."""
    if User.objects.filter(is_superuser=True).exists():
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        return AdminAccount(existing.username if existing else username, None)
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(username=username, email="", password=password)
    return AdminAccount(username, password)


def _demo_task(title: str, kind: str, **fields: Any) -> Task:
    return create_task(
        title=title,
        kind=kind,
        source=TaskSource.USER,
        source_ref=DEMO_SOURCE_REF,
        actor=system_actor("demo"),
        **fields,
    ).task


@transaction.atomic
def seed_demo_tasks() -> int:
    """Create the demo tasks unless they exist; the number created."""
    if Task.objects.filter(source_ref=DEMO_SOURCE_REF).exists():
        return 0
    for n in range(1, 6):
        _demo_task(f"Echo greeting {n}", "echo", payload={"n": n})
    _demo_task("Warm-up: sleep 3 seconds", "sleep", payload={"seconds": 3}, priority=80)
    _demo_task("Fails on purpose", "echo", payload={"fail": "demo failure"})
    first = _demo_task("Prepare release notes", "sleep", payload={"seconds": 2})
    _demo_task("Publish release notes (after preparing them)", "echo", blocked_by=first)
    needs_human = _demo_task(
        "Restart the payment service", "ops.restart", payload={"service": "payments"}, priority=90
    )
    mark_waiting_approval(
        needs_human,
        reason="no worker with capability ops.restart; approve to reroute or reject",
        actor=system_actor("demo"),
    )
    return Task.objects.filter(source_ref=DEMO_SOURCE_REF).count()


def seed_engine_demo() -> str:
    created = seed_demo_tasks()
    return f"{created} tasks created" if created else "already loaded"
