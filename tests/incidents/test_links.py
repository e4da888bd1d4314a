"""Links back to the incident: a task's page, an error group's page and a chat session's
page each name the incident they belong to, with its state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from chat.models import ChatSession
from incidents.services import open_incident
from logcrawler.models import ErrorFingerprint
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

SEEN = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_task_group_and_session_of_an_incident_link_back_to_it(client: Any, user: Any) -> None:
    incident = open_incident(title="KeyError in pricing", source="manual", actor="system:test")
    other = open_incident(title="Disk full", source="manual", actor="system:test")
    task = TaskFactory()
    group = ErrorFingerprint.objects.create(
        id="g1", kind="message", template="g1", level="ERROR", level_no=40,
        first_seen=SEEN, last_seen=SEEN, total_count=3,
    )  # fmt: skip
    session = ChatSession.objects.create(owner=user, mode="ops")
    incident.tasks.add(task)
    incident.fingerprints.add(group)
    incident.sessions.add(session)
    client.force_login(user)
    link = f'href="/incidents/{incident.pk}/"'

    for url in (
        reverse("engine:task", args=[task.pk]),
        reverse("logcrawler:fingerprint", args=["g1"]),
        reverse("chat:session", args=[session.pk]),
    ):
        page = client.get(url).content.decode()
        assert link in page, url
        assert "incident open" in page, url
        assert f'href="/incidents/{other.pk}/"' not in page, url


def test_pages_of_things_without_an_incident_show_no_incident_link(client: Any, user: Any) -> None:
    task = TaskFactory()
    client.force_login(user)
    assert "Incident #" not in client.get(reverse("engine:task", args=[task.pk])).content.decode()
