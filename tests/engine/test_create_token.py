from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from engine.models import ApiToken, hash_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue()


def test_prints_only_a_working_token(user: Any) -> None:
    output = run("alice", "--name", "laptop")

    token = output.strip()
    assert output == token + "\n"
    row = ApiToken.objects.get(user=user)
    assert row.name == "laptop"
    assert row.token_hash == hash_token(token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/tasks/").status_code == 200


def test_each_run_makes_a_new_token(user: Any) -> None:
    assert run("alice") != run("alice")
    assert ApiToken.objects.filter(user=user).count() == 2


def test_unknown_user_is_one_readable_error() -> None:
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("nobody")
    assert not ApiToken.objects.exists()


def test_inactive_user_gets_no_token() -> None:
    UserFactory(username="gone", is_active=False)

    with pytest.raises(CommandError, match="inactive"):
        run("gone")
    assert not ApiToken.objects.exists()


def test_name_longer_than_the_column_is_refused(user: Any) -> None:
    with pytest.raises(CommandError, match="--name"):
        run("alice", "--name", "n" * 101)
    assert not ApiToken.objects.exists()
