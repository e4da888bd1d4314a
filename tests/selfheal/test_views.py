"""The self-heal page and the fragments its script fetches."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from selfheal.models import PlaybookExecution
from selfheal.services import run_diagnosis, run_repair
from tests.selfheal.factories import blocked_on_done

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_needs_a_login() -> None:
    response = Client().get(reverse("selfheal:page"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_page_renders_the_buttons_and_an_empty_history(browser: Client) -> None:
    response = browser.get(reverse("selfheal:page"))

    html = response.content.decode()
    assert response.status_code == 200
    for text in ('data-run="diagnose"', 'data-run="repair"', 'data-run="autoheal"', "sh-dry-run"):
        assert text in html
    assert "Nothing has run yet" in html
    assert 'id="selfheal-data"' in html


def test_the_page_shows_the_latest_findings_actions_and_history(browser: Client) -> None:
    blocked_on_done(2)
    diagnosis = run_diagnosis(triggered_by="user:alice")
    repair = run_repair(triggered_by="user:alice")

    html = browser.get(reverse("selfheal:page")).content.decode()

    assert f"#{repair.pk}" in html and f"#{diagnosis.pk}" in html
    assert "sh-finding sev-" in html
    assert "Unblock task #" in html
    assert f'data-revert="{repair.pk}"' in html


def test_a_chosen_execution_and_the_fragments(browser: Client) -> None:
    diagnosis = run_diagnosis(triggered_by="user:alice")
    run_diagnosis(triggered_by="user:bob")

    page = browser.get(reverse("selfheal:page"), {"execution": diagnosis.pk})
    panel = browser.get(reverse("selfheal:execution", kwargs={"pk": diagnosis.pk}))
    lists = browser.get(reverse("selfheal:lists"))

    assert f'data-execution="{diagnosis.pk}"' in page.content.decode()
    assert panel.status_code == 200 and "<html" not in panel.content.decode()
    assert lists.content.decode().count("data-show=") == 2
    assert "Auto-heal rules" in lists.content.decode()
    assert browser.get(reverse("selfheal:execution", kwargs={"pk": 999999})).status_code == 404


def test_a_running_execution_is_handed_to_the_script(browser: Client) -> None:
    running = PlaybookExecution.objects.create(playbook="repair", triggered_by="user:bob")

    response = browser.get(reverse("selfheal:page"))

    data = response.context["data"]
    assert [r["id"] for r in data["running"]] == [running.pk]
    assert data["api"]["repair"] == "/api/selfheal/repair/"
