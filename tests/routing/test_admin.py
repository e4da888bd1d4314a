"""Routing in the admin: policies editable, the ledger read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from routing.models import ModelHealth, Policy
from tests.routing.factories import ModelCallFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]


@pytest.mark.parametrize("model", ["policy", "modelprice", "modelcall", "modelhealth"])
def test_every_changelist_loads(client: Any, staff: Any, model: str) -> None:
    ModelCallFactory()
    ModelHealth.objects.create(model_id="a/b", consecutive_failures=2)
    client.force_login(staff)

    response = client.get(reverse(f"admin:routing_{model}_changelist"))

    assert response.status_code == 200


def test_a_policy_is_edited_with_one_fallback_per_line(client: Any, staff: Any) -> None:
    policy = Policy.objects.get(mode="code")
    client.force_login(staff)
    url = reverse("admin:routing_policy_change", args=[policy.pk])
    assert "openai/gpt-4o\ndeepseek/deepseek-chat" in client.get(url).content.decode()

    response = client.post(
        url,
        {
            "mode": "code",
            "model": "anthropic/claude-3.5-sonnet",
            "fallback_models": " openai/gpt-4o-mini \n\nqwen/qwen-2.5-72b-instruct\n",
            "max_price_per_1k": "0.02",
            "max_iterations": "15",
            "max_seconds": "600",
            "max_retries": "0",
            "max_output_tokens": "2048",
            "session_ceiling": "2.50",
            "daily_ceiling": "12",
            "tool_permissions": ["read", "write"],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.fallback_models == ["openai/gpt-4o-mini", "qwen/qwen-2.5-72b-instruct"]
    assert (policy.max_price_per_1k, policy.daily_ceiling) == (Decimal("0.02"), Decimal("12"))
    assert policy.tool_permissions == ["read", "write"]
    assert (policy.max_seconds, policy.max_retries) == (600, 0)


def test_a_run_gets_at_least_a_second_and_a_call_at_least_a_token(client: Any, staff: Any) -> None:
    policy = Policy.objects.get(mode="ops")
    client.force_login(staff)
    url = reverse("admin:routing_policy_change", args=[policy.pk])
    form = {
        "mode": "ops",
        "model": policy.model,
        "fallback_models": "",
        "max_price_per_1k": "0.001",
        "max_iterations": "5",
        "max_seconds": "0",
        "max_retries": "-1",
        "max_output_tokens": "0",
        "session_ceiling": "0.10",
        "daily_ceiling": "1.00",
        "tool_permissions": ["read"],
    }

    response = client.post(url, form)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"max_seconds", "max_retries", "max_output_tokens"}
    policy.refresh_from_db()
    assert (policy.max_seconds, policy.max_retries, policy.max_output_tokens) == (120, 2, 1024)


def test_the_ledger_cannot_be_added_to_or_edited(client: Any, staff: Any) -> None:
    call = ModelCallFactory()
    client.force_login(staff)

    assert client.get(reverse("admin:routing_modelcall_add")).status_code == 403
    page = client.get(reverse("admin:routing_modelcall_change", args=[call.pk])).content.decode()
    assert 'name="_save"' not in page


def test_the_ledger_filters_by_mode_provider_and_outcome(client: Any, staff: Any) -> None:
    ModelCallFactory(mode="ops", provider="offline", model="offline/rule-based")
    ModelCallFactory(mode="code", provider="openrouter", model="anthropic/claude-3.5-sonnet")
    client.force_login(staff)

    response = client.get(
        reverse("admin:routing_modelcall_changelist"),
        {"mode": "ops", "provider": "offline", "outcome": "ok"},
    )

    html = response.content.decode()
    assert "offline/rule-based" in html and "anthropic/claude-3.5-sonnet" not in html


def test_ending_a_cool_down_by_hand(client: Any, staff: Any) -> None:
    ModelHealth.objects.create(model_id="a/b", consecutive_failures=5)
    client.force_login(staff)

    client.post(
        reverse("admin:routing_modelhealth_changelist"),
        {"action": "reset_health", "_selected_action": ["a/b"]},
    )

    assert ModelHealth.objects.get(pk="a/b").consecutive_failures == 0


def test_a_staff_member_without_the_permission_may_not_edit_a_policy_or_end_a_cool_down(
    client: Any,
) -> None:
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    policy = Policy.objects.get(mode="ops")
    ModelHealth.objects.create(model_id="a/b", consecutive_failures=5)
    operator = UserFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))  # may view routing, not edit it
    client.force_login(operator)
    url = reverse("admin:routing_policy_change", args=[policy.pk])

    edit = client.post(url, {"mode": "ops", "model": "x/y", "daily_ceiling": "999"})
    client.post(
        reverse("admin:routing_modelhealth_changelist"),
        {"action": "reset_health", "_selected_action": ["a/b"]},
    )

    assert edit.status_code == 403
    policy.refresh_from_db()
    assert policy.model != "x/y"
    assert ModelHealth.objects.get(pk="a/b").consecutive_failures == 5
    operator.groups.add(Group.objects.get(name="admin"))
    assert "_save" in client.get(url).content.decode(), "the admin role edits policies"
