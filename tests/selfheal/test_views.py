"""The self-heal page and the fragments its script fetches."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from selfheal.models import PlaybookExecution
from selfheal.services import run_diagnosis, run_repair
from tests.selfheal.factories import AutoHealRuleFactory, blocked_on_done, grant_repair

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(user: Any) -> Client:
    """Alice, granted `selfheal.run_repair`."""
    client = Client()
    client.force_login(grant_repair(user))
    return client


@pytest.fixture
def plain_browser(user: Any) -> Client:
    """Alice, signed in and nothing more."""
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


def test_without_the_permission_the_page_diagnoses_and_says_why_it_cannot_repair(
    plain_browser: Client,
) -> None:
    blocked_on_done(1)
    repair = run_repair(triggered_by="user:olga")

    response = plain_browser.get(reverse("selfheal:page"), {"execution": repair.pk})
    panel = plain_browser.get(reverse("selfheal:execution", kwargs={"pk": repair.pk}))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-run="diagnose"' in html
    assert 'data-run="repair"' not in html and 'data-run="autoheal"' not in html
    assert 'id="sh-repair-refused"' in html and "selfheal.run_repair" in html
    for fragment in (html, panel.content.decode()):
        assert "data-revert=" not in fragment
        assert "Revert</button>" in fragment, "shown, disabled, with the reason"


def test_with_the_permission_the_page_offers_repair_and_revert(browser: Client) -> None:
    blocked_on_done(1)
    repair = run_repair(triggered_by="user:alice")

    html = browser.get(reverse("selfheal:page"), {"execution": repair.pk}).content.decode()

    assert 'data-run="repair"' in html and 'data-run="autoheal"' in html
    assert f'data-revert="{repair.pk}"' in html
    assert 'id="sh-repair-refused"' not in html


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.usefixtures("no_rules")
@pytest.mark.parametrize("url", [reverse("selfheal:page"), reverse("selfheal:lists")])
def test_the_rules_cost_the_same_queries_however_many_there_are(
    plain_browser: Client, url: str
) -> None:
    def rule_with_runs() -> None:
        rule = AutoHealRuleFactory(max_runs_per_hour=1)
        PlaybookExecution.objects.create(
            playbook="repair", triggered_by="rule:x", rule=rule, state="done"
        )

    rule_with_runs()
    queries_for(plain_browser, url)  # the session and permission caches warm up
    one_rule = queries_for(plain_browser, url)
    for _ in range(4):
        rule_with_runs()

    five_rules = queries_for(plain_browser, url)

    assert five_rules == one_rule
    html = plain_browser.get(url).content.decode()
    assert html.count("cooling down") == 5, "each rule's wait is still worked out"


def test_an_actions_target_task_is_a_link_to_the_task() -> None:
    from selfheal.models import RepairAction

    assert RepairAction(target="engine.task#40").target_task_id == 40
    assert RepairAction(target="selfheal.autohealrule#3").target_task_id is None
    assert RepairAction(target="engine.task#x").target_task_id is None
