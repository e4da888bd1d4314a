"""The chat-ready tool functions: plain services returning JSON-safe dicts."""

from __future__ import annotations

import json

import pytest

from engine.models import Task, TaskState
from selfheal.tools import TOOLS, diagnose_tool, read_execution_tool, repair_tool
from tests.selfheal.factories import blocked_on_done

pytestmark = pytest.mark.django_db


def test_the_tools_run_and_answer_json() -> None:
    blocked_on_done(1)

    diagnosis = diagnose_tool(actor="chat:session-1")
    read = read_execution_tool(actor="chat:session-1", execution_id=diagnosis["id"])
    plan = repair_tool(actor="chat:session-1")

    assert read["id"] == diagnosis["id"] and len(read["findings"]) == 6
    assert plan["dry_run"] is True and plan["triggered_by"] == "chat:session-1"
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 1
    json.dumps([diagnosis, read, plan])


def test_only_the_repair_is_dangerous() -> None:
    assert {tool.name: tool.dangerous for tool in TOOLS} == {
        "selfheal_diagnose": False,
        "selfheal_read_execution": False,
        "selfheal_repair": True,
    }
