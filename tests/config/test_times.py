"""`config.times`: one way to write an instant, on the pages and in the admin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from config.times import ago, utc
from engine.models import Task
from engine.services import create_task

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_instant_in_another_zone_is_written_in_utc() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1)))

    assert utc(paris) == (
        '<time datetime="2026-01-02T03:04:05Z" title="2026-01-02 03:04:05 UTC">'
        "2026-01-02 03:04:05</time>"
    )
    assert ">2026-01-02 03:04</time>" in utc(paris, "minutes")
    assert ">03:04:05</time>" in utc(paris, "time")


def test_nothing_is_a_dash_and_a_date_has_no_clock() -> None:
    assert utc(None) == ago(None) == "—"
    assert utc(date(2026, 1, 2)) == "2026-01-02"


def test_a_relative_time_keeps_the_exact_instant() -> None:
    shown = ago(datetime.now(UTC) - timedelta(minutes=3))
    assert "3\xa0minutes ago</time>" in shown and 'title="20' in shown and ' UTC"' in shown


@pytest.mark.django_db
def test_the_admin_writes_instants_as_the_pages_do(admin_user: Any) -> None:
    task = create_task(title="rotate keys", kind="agent").task
    Task.objects.filter(pk=task.pk).update(created_at=AT)
    client = Client()
    client.force_login(admin_user)

    page = client.get(reverse("admin:engine_task_changelist")).content.decode()

    assert "2026-01-02 03:04:05" in page
    assert "Jan. 2, 2026" not in page
