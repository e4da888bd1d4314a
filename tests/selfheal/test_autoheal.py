"""Auto-heal: a finding fires its rule's playbook, within the cool-down and the hourly cap."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from engine.services import job_lock
from selfheal.autoheal import LOCK_NAME, rule_statuses, run_autoheal
from selfheal.errors import AlreadyRunning
from selfheal.jobs import autoheal_job
from selfheal.models import AutoHealRule, PlaybookExecution
from selfheal.schedules import SCHEDULES
from tests.selfheal.factories import AutoHealRuleFactory, blocked_on_done, stuck_running

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


def repairs() -> int:
    return PlaybookExecution.objects.filter(playbook="repair").count()


def test_a_matching_finding_runs_the_rules_playbook() -> None:
    rule = AutoHealRuleFactory(check_name="task_queue", min_severity="warning")
    stuck_running(2)

    report = run_autoheal(triggered_by="user:test")

    (decision,) = report.decisions
    assert decision.ran and decision.rule == rule.name
    repair = PlaybookExecution.objects.get(pk=decision.execution)
    assert (repair.playbook, repair.rule, repair.parent) == ("repair", rule, report.diagnosis)
    assert repair.triggered_by == f"rule:{rule.name}"
    assert "task_queue is warning" in repair.reason
    assert report.diagnosis.triggered_by == "user:test"


def test_a_finding_below_the_rules_severity_runs_nothing() -> None:
    AutoHealRuleFactory(check_name="task_queue", min_severity="critical")
    stuck_running(2)

    report = run_autoheal(triggered_by="user:test")

    assert report.decisions == [] and repairs() == 0


def test_a_disabled_rule_runs_nothing() -> None:
    AutoHealRuleFactory(check_name="task_queue", enabled=False)
    stuck_running(2)

    assert run_autoheal(triggered_by="user:test").decisions == []


def test_the_cool_down_holds_back_a_second_run() -> None:
    AutoHealRuleFactory(check_name="task_queue", cooldown_minutes=30, max_runs_per_hour=10)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        blocked_on_done(12)
        assert run_autoheal(triggered_by="t").decisions[0].ran
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        (decision,) = run_autoheal(triggered_by="t").decisions
        assert not decision.ran and decision.reason == "cooling down: 1 min left of 30"
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert run_autoheal(triggered_by="t").decisions[0].ran
    assert repairs() == 2


def test_at_most_the_hourly_number_of_runs() -> None:
    AutoHealRuleFactory(check_name="task_queue", cooldown_minutes=0, max_runs_per_hour=2)
    start = timezone.now()
    ran = []
    for minute in (0, 10, 20, 30, 61):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            blocked_on_done(1)  # a fault repair fixes, but that keeps coming back
            (decision,) = run_autoheal(triggered_by="t").decisions
            ran.append(decision.ran)
            if not decision.ran:
                assert "2 time(s) in the last hour (at most 2)" in decision.reason
    assert ran == [True, True, False, False, True]


def test_rule_statuses_read_each_rules_own_recent_runs() -> None:
    now = timezone.now()

    def ran(rule: AutoHealRule, minutes_ago: int) -> None:
        PlaybookExecution.objects.create(
            playbook="repair",
            triggered_by=f"rule:{rule.name}",
            rule=rule,
            state="done",
            started_at=now - timedelta(minutes=minutes_ago),
        )

    cooling = AutoHealRuleFactory(name="a-cooling", cooldown_minutes=30)
    capped = AutoHealRuleFactory(name="b-capped", cooldown_minutes=5, max_runs_per_hour=2)
    ready = AutoHealRuleFactory(name="c-ready", cooldown_minutes=5, max_runs_per_hour=2)
    AutoHealRuleFactory(name="d-off", enabled=False)
    ran(cooling, 10)
    ran(capped, 20)
    ran(capped, 40)
    ran(ready, 20)
    ran(ready, 90)  # more than an hour ago: not counted

    waits = {status.rule.name: status.waits for status in rule_statuses(now=now)}

    assert waits == {
        "a-cooling": "cooling down: 20 min left of 30",
        "b-capped": "already ran 2 time(s) in the last hour (at most 2)",
        "c-ready": None,
        "d-off": "disabled",
    }


def test_two_rules_for_one_playbook_run_it_once_per_pass() -> None:
    AutoHealRuleFactory(name="a", check_name="task_queue")
    AutoHealRuleFactory(name="b", check_name="task_queue")
    stuck_running(1)

    first, second = run_autoheal(triggered_by="t").decisions

    assert first.ran and not second.ran
    assert "already ran in this pass" in second.reason
    assert repairs() == 1


def test_a_dry_run_rule_only_plans() -> None:
    AutoHealRuleFactory(check_name="task_queue", dry_run=True)
    stuck_running(1)

    (decision,) = run_autoheal(triggered_by="t").decisions

    assert PlaybookExecution.objects.get(pk=decision.execution).dry_run


def test_auto_heal_does_not_overlap_itself() -> None:
    with job_lock(LOCK_NAME, ttl_seconds=60) as acquired:
        assert acquired
        with pytest.raises(AlreadyRunning):
            run_autoheal(triggered_by="t")
        assert autoheal_job() == {"skipped": "Auto-heal is already running."}


def test_the_job_reports_what_it_did() -> None:
    AutoHealRuleFactory(check_name="task_queue")
    stuck_running(1)

    report: dict[str, Any] = autoheal_job()

    assert report["decisions"][0]["ran"] is True
    diagnosis = PlaybookExecution.objects.get(pk=report["diagnosis"])
    assert diagnosis.triggered_by == "schedule:selfheal.autoheal"


def test_the_schedule_is_declared_as_data() -> None:
    assert SCHEDULES == [
        {"name": "selfheal.autoheal", "func": "selfheal.jobs.autoheal_job", "minutes": 5}
    ]


def test_a_rule_must_name_a_known_check_and_an_autoheal_playbook() -> None:
    rule = AutoHealRule(name="x", check_name="nope", playbook="revert")

    with pytest.raises(ValidationError) as raised:
        rule.full_clean()

    assert {"check_name", "playbook"} <= set(raised.value.message_dict)


def test_the_installation_starts_with_two_enabled_rules() -> None:
    seed = importlib.import_module("selfheal.migrations.0002_default_rules")

    seed.add_rules(apps, None)
    seed.add_rules(apps, None)

    rules = AutoHealRule.objects.order_by("name")
    assert [(r.name, r.check_name, r.playbook, r.enabled) for r in rules] == [
        ("recurring-errors", "error_patterns", "repair", True),
        ("stuck-queue", "task_queue", "repair", True),
    ]
    for rule in rules:
        rule.full_clean()
