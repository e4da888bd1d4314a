"""Periodic jobs, declared in code and installed as django-q2 `Schedule` rows.

An app declares its schedules in one of two ways; nothing is written to the database then:

- it registers `ScheduleSpec`s in its ``AppConfig.ready()`` with `register_schedule` (the
  engine does, and so may any app that stands on the engine);
- or, for an app that must not import the engine (``routing``), it lists them as plain
  data, ``SCHEDULES = [{"name": ..., "func": ..., "minutes": ...}]``, in its own
  ``schedules`` module, which `declared_schedules` finds.

``manage.py install_schedules`` writes them:
it creates or updates a row per declared schedule (found by name) and deletes rows of ours
that are no longer declared, so running it twice changes nothing the second time.

The cluster-wide traps are handled in settings (``Q_CLUSTER``): ``retry`` longer than
``timeout``, ``max_attempts`` 1, ``catch_up`` off. Each job guards against overlapping
itself with a job lock (see `engine.jobs`).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

# Rows whose name starts with this are ours to update and delete; others are the operator's.
MANAGED_PREFIX = "juggernaut:"


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    minutes: int
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def row_name(self) -> str:
        return MANAGED_PREFIX + self.name

    def row_values(self) -> dict[str, Any]:
        return {
            "func": self.func,
            "schedule_type": Schedule.MINUTES,
            "minutes": self.minutes,
            # django-q2 reads kwargs back with ast.literal_eval.
            "kwargs": repr(self.kwargs) if self.kwargs else None,
            "args": None,
            "hook": None,
            "cron": None,
            "repeats": -1,
            "cluster": None,
        }


ENGINE_SCHEDULES = (
    ScheduleSpec(
        name="engine.detect_stuck_tasks", func="engine.jobs.detect_stuck_tasks", minutes=1
    ),
    ScheduleSpec(
        name="engine.apply_unblock_rules", func="engine.jobs.apply_unblock_rules_job", minutes=1
    ),
)

_registry: dict[str, ScheduleSpec] = {}


def validate(spec: ScheduleSpec) -> ScheduleSpec:
    if not 1 <= spec.minutes <= 32767:
        raise ValueError(f"schedule {spec.name!r}: minutes must be 1 to 32767")
    if len(spec.row_name) > 100 or "." not in spec.func:
        raise ValueError(f"schedule {spec.name!r}: name too long or func not a dotted path")
    try:
        literal = ast.literal_eval(repr(spec.kwargs)) == spec.kwargs
    except (SyntaxError, ValueError):
        literal = False
    if not literal:
        raise ValueError(f"schedule {spec.name!r}: kwargs must be plain literals")
    return spec


def register_schedule(spec: ScheduleSpec) -> ScheduleSpec:
    """Declare a schedule; the same declaration twice is harmless, a different one an error."""
    validate(spec)
    existing = _registry.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"schedule {spec.name!r} is already declared differently")
    _registry[spec.name] = spec
    return spec


def unregister_schedule(name: str) -> None:
    _registry.pop(name, None)


def registered_schedules() -> list[ScheduleSpec]:
    return sorted(_registry.values(), key=lambda spec: spec.name)


def discovered_schedules(app_configs: Iterable[Any] | None = None) -> list[ScheduleSpec]:
    """``SCHEDULES`` from the ``schedules`` module of each of our apps (those in the repo)."""
    found: list[ScheduleSpec] = []
    for app in apps.get_app_configs() if app_configs is None else app_configs:
        if Path(app.path).parent != Path(settings.BASE_DIR):
            continue  # third-party apps are not ours to schedule
        module_name = f"{app.name}.schedules"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        for item in getattr(module, "SCHEDULES", ()):
            spec = item if isinstance(item, ScheduleSpec) else ScheduleSpec(**item)
            found.append(validate(spec))
    return found


def declared_schedules(app_configs: Iterable[AppConfig] | None = None) -> list[ScheduleSpec]:
    """Every schedule declared, registered or discovered; one name, one declaration."""
    declared = {spec.name: spec for spec in registered_schedules()}
    for spec in discovered_schedules(app_configs):
        if declared.setdefault(spec.name, spec) != spec:
            raise ValueError(f"schedule {spec.name!r} is declared twice, differently")
    return sorted(declared.values(), key=lambda spec: spec.name)


def register_engine_schedules() -> None:
    for spec in ENGINE_SCHEDULES:
        register_schedule(spec)


@dataclass
class InstallReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)


@transaction.atomic
def install_schedules(*, specs: list[ScheduleSpec] | None = None) -> InstallReport:
    """Make the Schedule rows of ours match the declarations, by name."""
    declared = declared_schedules() if specs is None else specs
    for spec in declared:
        import_string(spec.func)  # a typo fails here, not silently every minute
    report = InstallReport()
    now = timezone.now()
    ours = {
        row.name: row
        for row in Schedule.objects.select_for_update().filter(name__startswith=MANAGED_PREFIX)
    }
    for spec in declared:
        row = ours.pop(spec.row_name, None)
        values = spec.row_values()
        if row is None:
            Schedule.objects.create(name=spec.row_name, next_run=now, **values)
            report.created.append(spec.name)
            continue
        changed = [key for key, value in values.items() if getattr(row, key) != value]
        if not changed:
            report.unchanged.append(spec.name)
            continue
        for key in changed:
            setattr(row, key, values[key])
        soonest = now + timedelta(minutes=spec.minutes)
        if row.next_run is None or row.next_run > soonest:
            row.next_run = soonest
        row.save()
        report.updated.append(spec.name)
    for name, row in sorted(ours.items()):
        row.delete()
        report.removed.append(name.removeprefix(MANAGED_PREFIX))
    return report
