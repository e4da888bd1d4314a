"""Every app's admin list is useful: it opens with its filters and its search, and finds the
row an operator looks for (engine, chat, routing, self-heal, log crawler)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import ChatSession
from chat.services import create_session
from engine.models import TaskEvent
from engine.services import create_task
from logcrawler.models import AlertRule, ErrorFingerprint, LogEntry
from routing.models import ModelHealth
from selfheal.models import RepairAction
from selfheal.services import run_repair
from tests.logcrawler.helpers import entry, ingest
from tests.selfheal.factories import AutoHealRuleFactory, blocked_on_done

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def changelist(client: Client, model: str, **query: Any) -> str:
    response = client.get(reverse(f"admin:{model}_changelist"), query)
    assert response.status_code == 200, (model, query)
    return response.content.decode()


def test_engine_history_is_found_by_task(staff: Client) -> None:
    task = create_task(title="rotate keys", kind="agent").task
    other = create_task(title="other", kind="agent").task

    page = changelist(staff, "engine_taskevent", q=str(task.pk), from_state__exact="")

    assert TaskEvent.objects.filter(task=other).exists()
    assert "rotate keys" in page and "other" not in page.split("result_list")[1]


def test_chat_sessions_filter_by_who_started_them_and_by_archive(
    staff: Client, admin_user: Any
) -> None:
    mine = create_session(owner=admin_user, title="my own question")
    system = create_session(owner=None, title="investigation of incident 7")
    ChatSession.objects.filter(pk=system.pk).update(archived_at=mine.created_at)

    people = changelist(staff, "chat_chatsession", origin="person")
    archived = changelist(staff, "chat_chatsession", archived="yes")
    found = changelist(staff, "chat_chatsession", q="incident 7")

    assert "my own question" in people and "incident 7" not in people
    assert "incident 7" in archived and "my own question" not in archived
    assert "incident 7" in found and "my own question" not in found
    for model in ("chat_chatmessage", "chat_toolexecution", "chat_chatevent"):
        changelist(staff, model, q=str(mine.pk))


def test_chat_session_actions_go_through_the_services(staff: Client, admin_user: Any) -> None:
    session = create_session(owner=admin_user, title="old")
    url = reverse("admin:chat_chatsession_changelist")

    staff.post(url, {"action": "archive_selected", "_selected_action": [session.pk]})
    session.refresh_from_db()
    assert session.archived_at is not None

    staff.post(url, {"action": "unarchive_selected", "_selected_action": [session.pk]})
    session.refresh_from_db()
    assert session.archived_at is None

    response = staff.post(
        url, {"action": "stop_selected", "_selected_action": [session.pk]}, follow=True
    )
    assert "Stopped 1 session(s)." in [str(m) for m in response.context["messages"]]


def test_routing_health_is_searched_by_model(staff: Client) -> None:
    ModelHealth.objects.create(model_id="openai/gpt-4o-mini", consecutive_failures=3)
    ModelHealth.objects.create(model_id="anthropic/claude", consecutive_failures=0)

    page = changelist(staff, "routing_modelhealth", q="gpt-4o")

    assert "openai/gpt-4o-mini" in page and "anthropic/claude" not in page


def test_selfheal_actions_are_found_by_their_target(staff: Client) -> None:
    blocked = blocked_on_done(2)
    run_repair(triggered_by="user:alice")
    AutoHealRuleFactory(name="nightly-sweep", check_name="error_patterns")
    target = f"engine.task#{blocked[0].pk}"
    assert RepairAction.objects.filter(target=target).exists()

    page = changelist(staff, "selfheal_repairaction", q=target, status__exact="applied")
    rules = changelist(staff, "selfheal_autohealrule", q="nightly", dry_run__exact="0")

    assert target in page and f"engine.task#{blocked[1].pk}<" not in page
    assert "nightly-sweep" in rules
    changelist(staff, "selfheal_playbookexecution", rule__isnull="True", q="alice")


def test_logcrawler_lists_filter_and_search(staff: Client) -> None:
    ingest(entry("KeyError: 'sku'"), entry("timeout talking to db", service="worker"))
    fingerprint = ErrorFingerprint.objects.get(service="worker")
    AlertRule.objects.create(
        name="payments-spike", kind="spike", service="payments", severity="high"
    )
    AlertRule.objects.create(name="checkout-spike", kind="spike", service="checkout")

    entries = changelist(staff, "logcrawler_logentry", q=fingerprint.pk)
    rules = changelist(staff, "logcrawler_alertrule", q="payments", severity__exact="high")

    assert "timeout talking to db" in entries and "KeyError" not in entries
    assert LogEntry.objects.count() == 2
    assert "payments-spike" in rules and "checkout-spike" not in rules
    changelist(staff, "logcrawler_ingestbatch", q="nope")


def test_a_muted_group_is_unmuted_from_the_admin(staff: Client) -> None:
    ingest(entry("KeyError: 'sku'"))
    fingerprint = ErrorFingerprint.objects.get()
    url = reverse("admin:logcrawler_errorfingerprint_changelist")
    staff.post(url, {"action": "mute", "_selected_action": [fingerprint.pk]})
    fingerprint.refresh_from_db()
    assert fingerprint.state == "muted"

    staff.post(url, {"action": "unmute", "_selected_action": [fingerprint.pk]})

    fingerprint.refresh_from_db()
    assert fingerprint.state == "acknowledged"
