"""The admin carries the site's name and a way back to the dashboard, refuses a negative
ceiling or zero iterations (the models' validators, so the API and the pages do too), and its
lists filter and act through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from chat.models import ChatSession
from routing.models import Mode, Policy
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def policy() -> Policy:
    row, _ = Policy.objects.update_or_create(
        mode=Mode.NORMAL,
        defaults={
            "model": "openai/gpt-4o-mini",
            "max_price_per_1k": Decimal("0.01"),
            "max_iterations": 5,
            "session_ceiling": Decimal("0.50"),
            "daily_ceiling": Decimal("5"),
        },
    )
    return row


def test_the_admin_is_branded_and_refuses_a_negative_ceiling_and_zero_iterations(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    admin = django_user_model.objects.create_superuser(username="root", password="pw")
    row = policy()
    sign_in(page, live_server.url, admin)

    page.goto(f"{live_server.url}/admin/")
    assert "Juggernaut administration" in page.locator("#site-name").inner_text()
    page.click("text=View site")
    page.wait_for_url("**/engine/")

    page.goto(f"{live_server.url}/admin/routing/policy/{row.pk}/change/")
    page.fill("input[name=daily_ceiling]", "-1")
    page.fill("input[name=max_iterations]", "0")
    page.click("input[name=_save]")
    page.locator(".errorlist").first.wait_for()  # the answer to the POST, not the old page
    errors = page.locator(".errorlist").all_inner_texts()
    assert len(errors) >= 2, errors
    row.refresh_from_db()
    assert (row.daily_ceiling, row.max_iterations) == (Decimal("5"), 5)


@pytest.mark.django_db
def test_the_models_refuse_negative_money_and_zero_counts() -> None:
    with pytest.raises(ValidationError) as refused:
        ChatSession(max_cost=Decimal("-0.01"), max_steps=0, max_seconds=0).full_clean(
            exclude=["owner", "origin_task", "current_task"]
        )
    assert {"max_cost", "max_steps", "max_seconds"} <= set(refused.value.message_dict)


def test_an_operator_filters_the_system_sessions_and_archives_them_in_the_admin(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    admin = django_user_model.objects.create_superuser(username="root", password="pw")
    mine = ChatSession.objects.create(owner=admin, title="my own question")
    machine = ChatSession.objects.create(owner=None, title="investigation of incident 7")
    sign_in(page, live_server.url, admin)

    page.goto(f"{live_server.url}/admin/chat/chatsession/")
    page.click("#changelist-filter a:text('the system')")
    page.wait_for_url("**origin=system**")
    assert "investigation of incident 7" in page.locator("#result_list").inner_text()
    assert "my own question" not in page.locator("#result_list").inner_text()
    page.check("#action-toggle")
    page.select_option("select[name=action]", "archive_selected")
    page.click("button[name=index]")

    assert "Archived 1 session(s)." in page.locator(".messagelist").inner_text()
    machine.refresh_from_db()
    mine.refresh_from_db()
    assert machine.archived_at is not None and mine.archived_at is None
