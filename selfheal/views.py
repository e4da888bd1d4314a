"""The self-heal page and the two fragments its script re-renders after a run."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from selfheal.api.serializers import ProgressSerializer
from selfheal.autoheal import rule_statuses
from selfheal.models import FindingPhase, PlaybookExecution
from selfheal.playbooks import RepairCommonIssuesPlaybook
from selfheal.services import (
    REPAIR_REFUSED,
    REVERT_REFUSED,
    may_revert,
    may_run_repair,
    running_executions,
)

HISTORY_SHOWN = 20


def _history() -> list[PlaybookExecution]:
    return list(PlaybookExecution.objects.for_history()[:HISTORY_SHOWN])


def _execution(pk: int | None) -> PlaybookExecution | None:
    executions = PlaybookExecution.objects.select_related("rule", "target").prefetch_related(
        "findings", "actions", "snapshots"
    )
    if pk is not None:
        return get_object_or_404(executions, pk=pk)
    return executions.exclude(state="running").first()


def repair_budget_context() -> dict[str, Any]:
    """What the repair's bounds have left in their window now, shown beside the button."""
    budget = RepairCommonIssuesPlaybook.budget(now=timezone.now())
    return {
        "repair_budget": budget,
        "repair_budget_minutes": int(budget.window.total_seconds() // 60),
        "repair_budget_steps": list(budget.steps.values()),
        "repair_budget_spent": any(not step.left for step in budget.steps.values()),
    }


def permission_context(request: HttpRequest) -> dict[str, Any]:
    """Whether the buttons that change the system are live for this user; if not, why."""
    return {
        "may_repair": may_run_repair(request.user),
        "repair_refused": REPAIR_REFUSED,
        "may_revert": may_revert(request.user),
        "revert_refused": REVERT_REFUSED,
    }


def execution_context(execution: PlaybookExecution | None) -> dict[str, Any]:
    """What the execution fragment shows, split the way it shows it."""
    if execution is None:
        return {"execution": None}
    findings = list(execution.findings.all())
    outcome = execution.outcome or {}
    revert = None
    if execution.reverted_at is not None:
        revert = execution.reverts.filter(dry_run=False).order_by("-started_at", "-id").first()
    return {
        "execution": execution,
        "revert": revert,
        "findings": [f for f in findings if f.phase == FindingPhase.CHECK],
        "verified": [f for f in findings if f.phase == FindingPhase.VERIFY],
        "actions": list(execution.actions.all()),
        "snapshots": list(execution.snapshots.all()),
        "steps": outcome.get("steps", []),
        "verify": outcome.get("verify", {}),
        "revertible": execution.revertible,
    }


def _page_data(request: HttpRequest) -> dict[str, Any]:
    return {
        "csrf_token": get_token(request),
        "api": {
            "diagnose": reverse("selfheal-api:diagnose"),
            "repair": reverse("selfheal-api:repair"),
            "autoheal": reverse("selfheal-api:autoheal"),
            "progress": reverse("selfheal-api:progress"),
            "revert": reverse("selfheal-api:execution-revert", kwargs={"pk": 0}),
        },
        "panel": reverse("selfheal:execution", kwargs={"pk": 0}),
        "lists": reverse("selfheal:lists"),
        "page": reverse("selfheal:page"),
        "running": ProgressSerializer(running_executions(), many=True).data,
    }


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    selected = request.GET.get("execution", "")
    execution = _execution(int(selected) if selected.isdigit() else None)
    context = {
        **execution_context(execution),
        **permission_context(request),
        **repair_budget_context(),
        "history": _history(),
        "rules": rule_statuses(),
        "data": _page_data(request),
    }
    return render(request, "selfheal/page.html", context)


@require_GET
def execution_panel(request: HttpRequest, pk: int) -> HttpResponse:
    context = {**execution_context(_execution(pk)), **permission_context(request)}
    return render(request, "selfheal/_execution.html", context)


@require_GET
def lists_panel(request: HttpRequest) -> HttpResponse:
    """The history, the rules and the repair's budget, which a run changes (a rule may now
    be cooling down, a bound used up)."""
    context = {"history": _history(), "rules": rule_statuses(), **repair_budget_context()}
    return render(request, "selfheal/_lists.html", context)
