"""Rows self-heal's tests build: rules, and engine tasks in the shapes the checks look for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import Permission
from django.utils import timezone

from engine.models import Task, TaskState
from selfheal.models import AutoHealRule, Severity
from tests.factories import TaskFactory, WorkerFactory


class AutoHealRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AutoHealRule

    name = factory.Sequence(lambda n: f"rule-{n}")
    check_name = "task_queue"
    min_severity = Severity.WARNING
    playbook = "repair"
    cooldown_minutes = 30
    max_runs_per_hour = 2


def grant_repair(user: Any, *codenames: str) -> Any:
    """Give `user` the permissions an operator grants in the admin (by default both of
    self-heal's: run_repair and revert_execution); a fresh copy, since a user's permissions
    are cached on the instance."""
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="selfheal",
            codename__in=codenames or ("run_repair", "revert_execution"),
        )
    )
    return type(user).objects.get(pk=user.pk)


def done_task(**kwargs: Any) -> Task:
    now = timezone.now()
    return TaskFactory(state=TaskState.DONE, finished_at=kwargs.pop("finished_at", now), **kwargs)


def blocked_on_done(count: int, *, start: Any = None) -> list[Task]:
    """Blocked tasks whose blocker is done: what repair unblocks. Oldest first."""
    blocker = done_task(title="blocker")
    start = start or timezone.now() - timedelta(hours=1)
    return [
        TaskFactory(
            state=TaskState.BLOCKED,
            blocked_by=blocker,
            title=f"blocked {i}",
            created_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]


def stuck_running(count: int, *, attempts: int = 1) -> list[Task]:
    """Running tasks whose lease ran out a while ago, the oldest lease first."""
    worker = WorkerFactory()
    now = timezone.now()
    return [
        TaskFactory(
            state=TaskState.RUNNING,
            lease_worker=worker,
            lease_expires_at=now - timedelta(minutes=10) + timedelta(seconds=i),
            started_at=now - timedelta(minutes=20),
            attempts=attempts,
            title=f"stuck {i}",
        )
        for i in range(count)
    ]


def failures(
    count: int, template: str = "Timeout after {n}s connecting to 10.0.0.{n}:5432"
) -> list[Task]:
    """Failed tasks whose errors differ only in their numbers: one pattern."""
    now = timezone.now()
    return [
        TaskFactory(
            state=TaskState.FAILED,
            last_error=template.format(n=i + 1),
            finished_at=now - timedelta(minutes=i),
            attempts=3,
        )
        for i in range(count)
    ]
