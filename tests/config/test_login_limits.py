"""Guessing passwords, as the review did: 100 wrong passwords in a row for one account, then
the right one; many accounts from one address; the admin's sign-in form too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str, *, address: str = "10.0.0.7") -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_hundred_wrong_passwords_lock_the_account_even_against_the_right_one(
    client: Client, staff: Any
) -> None:
    answers = [sign_in(client, "olga", f"guess-{n}").status_code for n in range(100)]

    assert answers[:10] == [200] * 10  # the form again, "wrong password"
    assert set(answers[10:]) == {429}
    right = sign_in(client, "olga", "pw-olga-123")
    assert right.status_code == 429
    assert not signed_in(client)


def test_the_refusal_is_a_page_in_the_sites_layout_with_retry_after(
    client: Client, staff: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    for n in range(2):
        sign_in(client, "olga", f"guess-{n}")

    refused = sign_in(client, "olga", "pw-olga-123")

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    page = refused.content.decode()
    assert "Too many sign-in attempts" in page
    assert 'class="topbar"' in page and "site.css" in page  # base.html's layout


def test_the_account_is_locked_from_every_address(
    client: Client, staff: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    for n in range(3):
        sign_in(client, "olga", f"guess-{n}", address=f"10.0.1.{n}")

    assert sign_in(client, "olga", "pw-olga-123", address="10.0.2.1").status_code == 429


def test_one_address_guessing_many_accounts_is_stopped(
    client: Client, user: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    for n in range(5):
        sign_in(client, f"someone-{n}", "guess")

    assert sign_in(client, "alice", "pw-alice-123").status_code == 429
    assert not signed_in(client)
    # Another address is not held to the first one's failures.
    assert sign_in(client, "alice", "pw-alice-123", address="10.9.9.9").status_code == 302


def test_the_admin_sign_in_form_is_held_to_the_same_limits(
    client: Client, staff: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    for n in range(3):
        client.post("/admin/login/", {"username": "olga", "password": f"guess-{n}"})

    refused = client.post("/admin/login/", {"username": "olga", "password": "pw-olga-123"})

    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_the_account_opens_again_when_the_window_ends(
    client: Client, staff: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for n in range(3):
            sign_in(client, "olga", f"guess-{n}")
        refused = sign_in(client, "olga", "pw-olga-123")
        assert refused.status_code == 429

        clock.shift(timedelta(seconds=int(refused["Retry-After"]) + 1))

        assert sign_in(client, "olga", "pw-olga-123").status_code == 302
    assert signed_in(client)


def test_signing_in_rightly_counts_nothing(client: Client, user: Any, settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(5):
        assert sign_in(client, "alice", "pw-alice-123").status_code == 302
        client.post("/accounts/logout/")
