"""A repair's bounds hold per window across every run, whoever starts it, and a repair that
finds a bound used up says so: in its row, the page, the API answer and the chat tool."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat.tools import ToolContext, tools
from engine.models import Task, TaskState
from selfheal.autoheal import run_autoheal
from selfheal.models import AutoHealRule, PlaybookExecution
from selfheal.services import revert_execution, run_repair
from tests.factories import api_client_for
from tests.selfheal.factories import blocked_on_done, failures, grant_repair, stuck_running

pytestmark = pytest.mark.django_db


def steps(execution: Any) -> dict[str, Any]:
    return {step["name"]: step for step in execution.outcome["steps"]}


def pending(tasks: list[Task]) -> int:
    return Task.objects.filter(pk__in=[t.pk for t in tasks], state=TaskState.PENDING).count()


def test_the_two_default_rules_seconds_apart_stay_within_one_hours_bounds() -> None:
    # The installation's rules, as the issue found them: both run the repair, each with a
    # cool-down of its own, so two passes a few seconds apart used to repair twice.
    AutoHealRule.objects.all().delete()
    importlib.import_module("selfheal.migrations.0002_default_rules").add_rules(apps, None)
    blocked = blocked_on_done(25)
    stuck = stuck_running(12)
    failures(12)  # recurring errors: the second rule's finding
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        first = run_autoheal(triggered_by="schedule:test")
    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        second = run_autoheal(triggered_by="schedule:test")

    ran = [d for report in (first, second) for d in report.decisions if d.ran]
    assert [d.rule for d in ran] == ["recurring-errors", "stuck-queue"], "both rules ran"
    assert pending(blocked) == 10, "at most 10 unblocked in the hour, not 20"
    assert pending(stuck) == 5, "at most 5 stuck tasks reset in the hour, not 10"
    later = PlaybookExecution.objects.get(pk=ran[1].execution)
    assert later.budget_spent
    assert later.budget["window_minutes"] == 60
    assert later.budget["steps"]["reset_blocked"] == {
        "bound": 10,
        "used": 10,
        "left": 0,
        "room_again_at": (start + timedelta(hours=1)).isoformat(),
    }
    blocked_step = steps(later)["reset_blocked"]
    assert (blocked_step["budget_left"], blocked_step["applied"]) == (0, [])
    assert blocked_step["held_by_budget"] and blocked_step["left_count"] == 15
    assert later.summary.startswith("Budget spent: Unblocked 0 of 15 blocked tasks (15 held back")
    assert f"room again at {start + timedelta(hours=1):%H:%M} UTC" in later.summary
    assert "already used up in its window" in ran[1].reason


def test_room_comes_back_as_changes_leave_the_window() -> None:
    blocked = blocked_on_done(25)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        run_repair(triggered_by="user:a")
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        held = run_repair(triggered_by="user:b")
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        again = run_repair(triggered_by="user:c")

    assert steps(held)["reset_blocked"]["applied"] == [] and held.budget_spent
    assert len(steps(again)["reset_blocked"]["applied"]) == 10 and not again.budget_spent
    assert pending(blocked) == 20


def test_a_run_may_use_what_the_window_has_left_and_no_more() -> None:
    blocked_on_done(4)
    first = run_repair(triggered_by="user:a")
    blocked = blocked_on_done(20)

    second = run_repair(triggered_by="user:b")

    assert len(steps(first)["reset_blocked"]["applied"]) == 4
    step = steps(second)["reset_blocked"]
    assert (step["budget_left"], len(step["applied"]), step["left_count"]) == (6, 6, 14)
    assert pending(blocked) == 6
    assert second.budget["steps"]["reset_blocked"]["used"] == 4
    assert "10 of 10 per 60 min used (4 by earlier runs)" in second.summary
    # Every action still names the bound from the code.
    assert set(second.actions.values_list("bound", flat=True)) == {10}


def test_the_window_is_a_setting(settings: Any) -> None:
    settings.SELFHEAL_BOUND_WINDOW_MINUTES = 5
    blocked = blocked_on_done(25)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        run_repair(triggered_by="user:a")
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        later = run_repair(triggered_by="user:b")

    assert later.budget["window_minutes"] == 5 and not later.budget_spent
    assert pending(blocked) == 20


def test_dry_runs_plan_within_what_is_left_and_use_nothing() -> None:
    blocked = blocked_on_done(25)

    plan = run_repair(triggered_by="user:a", dry_run=True)
    real = run_repair(triggered_by="user:a")
    plan_after = run_repair(triggered_by="user:a", dry_run=True)

    assert len(steps(plan)["reset_blocked"]["planned"]) == 10
    assert len(steps(real)["reset_blocked"]["applied"]) == 10, "the dry run used nothing"
    assert steps(plan_after)["reset_blocked"]["planned"] == []
    assert plan_after.budget_spent
    assert plan_after.summary.startswith("Budget spent: Would unblock 0 of 15")
    assert pending(blocked) == 10


def test_a_revert_gives_no_budget_back_and_is_never_held_by_one() -> None:
    blocked_on_done(25)
    repair = run_repair(triggered_by="user:a")

    revert = revert_execution(execution_id=repair.pk, triggered_by="user:a")
    after = run_repair(triggered_by="user:a")

    assert revert.budget == {"window_minutes": 0}
    assert steps(revert)["restore"]["budget_left"] is None
    assert steps(after)["reset_blocked"]["applied"] == [] and after.budget_spent


def test_the_api_answer_says_the_budget_is_spent(user: Any) -> None:
    blocked_on_done(25)
    run_repair(triggered_by="rule:stuck-queue")
    api = api_client_for(grant_repair(user))

    response = api.post("/api/selfheal/repair/", {}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["budget_spent"] is True
    assert body["budget"]["steps"]["reset_blocked"]["left"] == 0
    assert body["summary"].startswith("Budget spent:")
    listed = api.get("/api/selfheal/executions/").json()["results"][0]
    assert (listed["id"], listed["budget_spent"]) == (body["id"], True)


def test_the_chat_tool_result_says_the_budget_is_spent(user: Any) -> None:
    blocked_on_done(25)
    run_repair(triggered_by="user:someone")
    owner = grant_repair(user)
    tool = tools.get("selfheal_repair")
    assert tool is not None

    result = tool.function(
        ToolContext(session_id=7, owner_id=owner.pk, mode="ops"), {"dry_run": False}
    )

    assert result["budget_spent"] is True
    assert "held back" in result["summary"]
    assert "per window" in tool.description


def test_the_page_shows_the_budget_and_a_run_that_found_it_spent(user: Any) -> None:
    blocked_on_done(25)
    run_repair(triggered_by="user:a")
    held = run_repair(triggered_by="user:b")
    browser = Client()
    browser.force_login(grant_repair(user))

    html = browser.get(reverse("selfheal:page") + f"?execution={held.pk}").content.decode()

    assert 'class="badge sh-budget-spent"' in html
    assert "held back: budget spent" in html
    assert "reset_blocked 10/10 used" in html
    assert "a bound is used up" in html
    assert "Nothing changed: a bound was used up in its window" in html
    lists = browser.get(reverse("selfheal:lists")).content.decode()
    assert '<span class="tag sh-budget-spent">budget spent</span>' in lists
