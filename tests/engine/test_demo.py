from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from engine.models import Task, TaskState
from tests.commands import assert_one_readable_error, run_manage

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_covers_the_interesting_states() -> None:
    call_command("seed_demo", stdout=StringIO())
    count = Task.objects.count()
    call_command("seed_demo", stdout=StringIO())

    assert Task.objects.count() == count > 0
    states = set(Task.objects.values_list("state", flat=True))
    assert {TaskState.PENDING, TaskState.BLOCKED, TaskState.WAITING_APPROVAL} <= states


def test_ensure_admin_prints_a_random_password_once() -> None:
    first, second = StringIO(), StringIO()
    call_command("ensure_admin", stdout=first)
    call_command("ensure_admin", stdout=second)

    admin = User.objects.get(username="admin")
    password = first.getvalue().split("Password: ")[1].split()[0]
    assert admin.is_superuser and admin.check_password(password)
    assert len(password) >= 12
    assert password not in second.getvalue()
    assert User.objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_frames_the_password_with_how_to_reset_it() -> None:
    out = StringIO()
    call_command("ensure_admin", stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("+--") and lines[-1] == lines[0]
    assert all(line.startswith("|") and len(line) == len(lines[0]) for line in lines[1:-1])
    assert any("Password: " in line for line in lines)
    assert "manage.py changepassword admin" in out.getvalue()


def test_make_run_prints_the_password_last_before_the_server() -> None:
    recipe = Path(__file__).resolve().parents[2].joinpath("Makefile").read_text()
    run = recipe.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    commands = [
        line.split("manage.py ")[1].split()[0]
        for line in run.splitlines()
        if "manage.py " in line and not line.strip().startswith("@#")
    ]
    assert commands[-2:] == ["ensure_admin", "serve"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", ["bad name!", ""])
def test_ensure_admin_refuses_a_bad_username_in_one_readable_line(username: str) -> None:
    assert_one_readable_error(run_manage("ensure_admin", "--username", username), "--username")
    assert not User.objects.filter(username=username).exists()
