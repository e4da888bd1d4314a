"""Self-heal's chat tools, called as the agent calls them: through chat's registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.tools import ToolContext, ToolError, tools
from engine.models import Task, TaskState
from routing.models import ToolPermission
from selfheal.models import PlaybookExecution
from tests.factories import UserFactory
from tests.selfheal.factories import blocked_on_done, grant_repair

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> Any:
    """The session's owner, granted `selfheal.run_repair`."""
    return grant_repair(UserFactory(username="owner"))


def _call(name: str, arguments: dict, *, owner_id: int) -> dict:
    tool = tools.get(name)
    assert tool is not None, f"{name} is registered"
    assert tool.argument_errors(arguments) == []
    return tool.function(ToolContext(session_id=7, owner_id=owner_id, mode="ops"), arguments)


def test_the_tools_are_registered_and_answer_json(owner: Any) -> None:
    blocked_on_done(1)

    diagnosis = _call("selfheal_diagnose", {}, owner_id=owner.pk)
    read = _call("selfheal_read_execution", {"execution_id": diagnosis["id"]}, owner_id=owner.pk)
    plan = _call("selfheal_repair", {}, owner_id=owner.pk)

    assert read["id"] == diagnosis["id"] and len(read["findings"]) == 6
    assert plan["dry_run"] is True and plan["triggered_by"] == "chat:session-7"
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 1  # a dry run by default
    json.dumps([diagnosis, read, plan])


def test_a_real_repair_through_the_tool_unblocks(owner: Any) -> None:
    blocked_on_done(1)

    result = _call("selfheal_repair", {"dry_run": False}, owner_id=owner.pk)

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


def test_an_unknown_execution_is_an_error_for_the_model(owner: Any) -> None:
    with pytest.raises(ToolError, match="does not exist"):
        _call("selfheal_read_execution", {"execution_id": 999_999}, owner_id=owner.pk)


def test_an_unknown_execution_is_refused_naming_the_newest(owner: Any) -> None:
    tool = tools.get("selfheal_read_execution")
    assert tool is not None
    context = ToolContext(session_id=7, owner_id=owner.pk, mode="ops")
    assert tool.problems(context, {"execution_id": 5}) == [
        "execution_id: no self-heal execution #5; the newest: none yet (selfheal_diagnose "
        "makes one)"
    ]
    diagnosis = _call("selfheal_diagnose", {}, owner_id=owner.pk)

    (problem,) = tool.problems(context, {"execution_id": 999_999})

    assert problem.endswith(f"the newest: #{diagnosis['id']} (diagnose, done)")
    assert tool.problems(context, {"execution_id": diagnosis["id"]}) == []


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_repair_is_refused_for_an_owner_without_the_permission(dry_run: bool) -> None:
    plain = UserFactory(username="plain")
    blocked_on_done(1)

    with pytest.raises(ToolError, match=r"selfheal\.run_repair"):
        _call("selfheal_repair", {"dry_run": dry_run}, owner_id=plain.pk)

    assert not PlaybookExecution.objects.filter(playbook="repair").exists()
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 1


def test_the_diagnosis_is_open_to_an_owner_without_the_permission() -> None:
    plain = UserFactory(username="plain")

    assert _call("selfheal_diagnose", {}, owner_id=plain.pk)["state"] == "done"


def test_a_superuser_owner_may_repair() -> None:
    root = UserFactory(username="sam", is_staff=True, is_superuser=True)

    assert _call("selfheal_repair", {}, owner_id=root.pk)["dry_run"] is True


def test_bad_arguments_are_refused_before_the_tool_runs() -> None:
    tool = tools.get("selfheal_read_execution")
    assert tool is not None
    assert tool.argument_errors({"execution_id": "seven"}) != []
    assert tool.argument_errors({}) != []


def test_the_repair_is_refused_before_approval_for_an_owner_without_the_permission(
    owner: Any,
) -> None:
    tool = tools.get("selfheal_repair")
    assert tool is not None

    def refused(owner_id: int | None) -> str | None:
        return tool.refused(ToolContext(session_id=7, owner_id=owner_id, mode="ops"))

    assert refused(owner.pk) is None
    assert refused(UserFactory(username="root", is_superuser=True).pk) is None
    assert "selfheal.run_repair" in (refused(UserFactory(username="sam", is_staff=True).pk) or "")
    assert "selfheal.run_repair" in (refused(UserFactory(username="plain").pk) or "")
    assert refused(None) is not None  # a system session: no one whose permission covers it
