from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from chat.models import ChatSession
from tests.commands import assert_one_readable_error, run_manage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def test_one_turn_in_the_terminal_prints_its_events(staff: Any) -> None:
    out = StringIO()

    call_command("chat", "list tasks", "--mode", "ops", stdout=out)

    text = out.getvalue()
    assert "-> list_tasks {}" in text
    assert "<- list_tasks" in text
    assert "stopped: Completed." in text
    session = ChatSession.objects.get()
    assert (session.owner, session.mode, session.stop_reason) == (staff, "ops", "completed")


def test_json_output_is_one_event_a_line_in_seq_order(user: Any) -> None:
    out = StringIO()

    call_command("chat", "list workers", "--user", "alice", "--json", stdout=out)

    events = [json.loads(line) for line in out.getvalue().splitlines()]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert events[-1]["type"] == "session.status" and events[-2]["type"] == "run.stopped"


def test_a_run_that_does_not_complete_is_an_error(user: Any) -> None:
    ChatSession.objects.create(owner=user, mode="ops", max_steps=0)
    session = ChatSession.objects.get()

    with pytest.raises(CommandError, match="Step budget reached"):
        call_command("chat", "hi", "--session", str(session.pk), stdout=StringIO())


def test_an_unknown_user_or_session_is_a_command_error(user: Any) -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("chat", "hi", "--user", "nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="no chat session 999"):
        call_command("chat", "hi", "--session", "999", stdout=StringIO())
    assert not ChatSession.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_empty_message_exits_non_zero_with_one_readable_line() -> None:
    assert_one_readable_error(run_manage("chat", ""), "message is empty")
