from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType, SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django_q.models import Schedule

from engine.schedules import (
    ENGINE_SCHEDULES,
    MANAGED_PREFIX,
    ScheduleSpec,
    declared_schedules,
    discovered_schedules,
    install_schedules,
    register_schedule,
    registered_schedules,
    unregister_schedule,
)

pytestmark = pytest.mark.django_db

EXTRA = ScheduleSpec(name="tests.extra", func="engine.jobs.detect_stuck_tasks", minutes=5)


@pytest.fixture
def extra_schedule() -> Iterator[ScheduleSpec]:
    register_schedule(EXTRA)
    yield EXTRA
    unregister_schedule(EXTRA.name)


def rows() -> dict[str, tuple[str, int | None]]:
    return {row.name: (row.func, row.minutes) for row in Schedule.objects.all()}


def test_the_engine_declares_its_jobs_every_minute_at_start() -> None:
    declared = {spec.name: spec for spec in registered_schedules()}
    for spec in ENGINE_SCHEDULES:
        assert declared[spec.name] == spec
        assert spec.minutes == 1
    assert not Schedule.objects.exists(), "declaring writes nothing"


def test_install_is_idempotent() -> None:
    first = install_schedules()
    second = install_schedules()

    assert sorted(first.created) == [spec.name for spec in declared_schedules()]
    assert not second.changed
    assert sorted(second.unchanged) == sorted(first.created)
    assert Schedule.objects.count() == len(first.created)
    assert (
        rows().items()
        >= {
            MANAGED_PREFIX + "engine.detect_stuck_tasks": ("engine.jobs.detect_stuck_tasks", 1),
            MANAGED_PREFIX + "engine.apply_unblock_rules": (
                "engine.jobs.apply_unblock_rules_job",
                1,
            ),
        }.items()
    )
    assert set(Schedule.objects.values_list("schedule_type", "repeats")) == {(Schedule.MINUTES, -1)}


def test_changing_minutes_updates_the_row_in_place(extra_schedule: ScheduleSpec) -> None:
    install_schedules()
    row_id = Schedule.objects.get(name=extra_schedule.row_name).pk
    unregister_schedule(extra_schedule.name)
    register_schedule(replace(extra_schedule, minutes=15, kwargs={"limit": 10}))

    report = install_schedules()

    assert report.updated == [extra_schedule.name]
    row = Schedule.objects.get(name=extra_schedule.row_name)
    assert (row.pk, row.minutes, row.kwargs) == (row_id, 15, "{'limit': 10}")


@pytest.fixture
def data_only_app() -> Iterator[SimpleNamespace]:
    """An app of ours that lists its schedules as data and never imports the engine."""
    module = ModuleType("dataonly.schedules")
    module.SCHEDULES = [  # type: ignore[attr-defined]
        {"name": "dataonly.tick", "func": "engine.jobs.apply_unblock_rules_job", "minutes": 7}
    ]
    sys.modules["dataonly.schedules"] = module
    yield SimpleNamespace(name="dataonly", path=str(settings.BASE_DIR / "dataonly"))
    del sys.modules["dataonly.schedules"]


def test_schedules_listed_as_data_are_discovered(data_only_app: SimpleNamespace) -> None:
    third_party = SimpleNamespace(name="dataonly", path="/elsewhere/site-packages/dataonly")
    tick = ScheduleSpec(name="dataonly.tick", func="engine.jobs.apply_unblock_rules_job", minutes=7)

    assert discovered_schedules([data_only_app]) == [tick]
    assert discovered_schedules([third_party]) == []
    assert tick in declared_schedules([data_only_app])
    report = install_schedules(specs=declared_schedules([data_only_app]))
    assert "dataonly.tick" in report.created


def test_a_name_declared_twice_differently_is_refused(data_only_app: SimpleNamespace) -> None:
    register_schedule(replace(EXTRA, name="dataonly.tick"))
    try:
        with pytest.raises(ValueError, match="declared twice"):
            declared_schedules([data_only_app])
    finally:
        unregister_schedule("dataonly.tick")


def test_stale_schedules_of_ours_are_removed_and_others_kept() -> None:
    Schedule.objects.create(name=MANAGED_PREFIX + "gone.job", func="gone.job", minutes=1)
    Schedule.objects.create(name="operator's own", func="engine.jobs.detect_stuck_tasks")

    report = install_schedules()

    assert report.removed == ["gone.job"]
    assert "operator's own" in rows()
    assert MANAGED_PREFIX + "gone.job" not in rows()


def test_a_function_that_cannot_be_imported_installs_nothing() -> None:
    broken = ScheduleSpec(name="tests.broken", func="engine.jobs.no_such_job", minutes=1)

    with pytest.raises(ImportError):
        install_schedules(specs=[*ENGINE_SCHEDULES, broken])
    assert not Schedule.objects.exists()


def test_register_refuses_a_conflicting_or_invalid_declaration(
    extra_schedule: ScheduleSpec,
) -> None:
    register_schedule(extra_schedule)  # the same again is harmless
    with pytest.raises(ValueError, match="already declared differently"):
        register_schedule(replace(extra_schedule, minutes=2))
    with pytest.raises(ValueError, match="minutes must be"):
        register_schedule(replace(extra_schedule, name="tests.zero", minutes=0))
    with pytest.raises(ValueError, match="kwargs must be plain literals"):
        register_schedule(replace(extra_schedule, name="tests.obj", kwargs={"x": object()}))


def test_install_schedules_command_prints_what_changed(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("install_schedules")
    first = capsys.readouterr().out
    call_command("install_schedules")
    second = capsys.readouterr().out

    assert "created: engine.detect_stuck_tasks" in first
    assert "unchanged: engine.apply_unblock_rules" in second
    assert "schedules already up to date" in second


def test_cluster_settings_avoid_django_q2s_traps() -> None:
    cluster = settings.Q_CLUSTER
    assert cluster["retry"] > cluster["timeout"], "else a slow job is handed out twice"
    assert cluster["max_attempts"] >= 1, "else a failing job is retried forever"
    assert cluster["catch_up"] is False, "else every missed minute replays after downtime"
