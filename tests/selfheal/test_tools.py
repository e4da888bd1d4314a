"""Self-heal's chat tools, called as the agent calls them: through chat's registry."""

from __future__ import annotations

import json

import pytest

from chat.tools import ToolContext, ToolError, tools
from engine.models import Task, TaskState
from routing.models import ToolPermission
from tests.selfheal.factories import blocked_on_done

pytestmark = pytest.mark.django_db


def _call(name: str, arguments: dict) -> dict:
    tool = tools.get(name)
    assert tool is not None, f"{name} is registered"
    assert tool.argument_errors(arguments) == []
    return tool.function(ToolContext(session_id=7, owner_id=1, mode="ops"), arguments)


def test_the_tools_are_registered_and_answer_json() -> None:
    blocked_on_done(1)

    diagnosis = _call("selfheal_diagnose", {})
    read = _call("selfheal_read_execution", {"execution_id": diagnosis["id"]})
    plan = _call("selfheal_repair", {})

    assert read["id"] == diagnosis["id"] and len(read["findings"]) == 6
    assert plan["dry_run"] is True and plan["triggered_by"] == "chat:session-7"
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 1  # a dry run by default
    json.dumps([diagnosis, read, plan])


def test_a_real_repair_through_the_tool_unblocks() -> None:
    blocked_on_done(1)

    result = _call("selfheal_repair", {"dry_run": False})

    assert result["dry_run"] is False
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 0


def test_only_the_repair_is_dangerous_so_it_asks_for_approval() -> None:
    names = ("selfheal_diagnose", "selfheal_read_execution", "selfheal_repair")
    permissions = {name: tools.get(name).permission for name in names}  # type: ignore[union-attr]
    assert permissions == {
        "selfheal_diagnose": ToolPermission.READ,
        "selfheal_read_execution": ToolPermission.READ,
        "selfheal_repair": ToolPermission.DANGEROUS,
    }


def test_an_unknown_execution_is_an_error_for_the_model() -> None:
    with pytest.raises(ToolError, match="does not exist"):
        _call("selfheal_read_execution", {"execution_id": 999_999})


def test_bad_arguments_are_refused_before_the_tool_runs() -> None:
    tool = tools.get("selfheal_read_execution")
    assert tool is not None
    assert tool.argument_errors({"execution_id": "seven"}) != []
    assert tool.argument_errors({}) != []
