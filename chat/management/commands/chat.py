"""`manage.py chat "message" --mode ops`: one turn of the agent in this terminal, its events
printed as they happen. No worker is needed; a dangerous tool still waits for approval."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.errors import ChatError
from chat.services import post_message, run_session, session_for_turn
from chat.services.broadcast import flush
from chat.services.publisher import Envelope, observing
from chat.stop_reasons import StopReason, explain
from routing.models import Mode


class Command(BaseCommand):
    help = "Send one message to the agent and print the run's events as they come."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("message")
        parser.add_argument("--mode", default=Mode.NORMAL, choices=Mode.values)
        parser.add_argument("--session", type=int, help="Continue this session.")
        parser.add_argument("--user", help="The session's owner (default: the first superuser).")
        parser.add_argument("--json", action="store_true", help="Print raw events, one a line.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["message"].strip():
            raise CommandError("the message is empty: say what the agent should do")
        try:
            session = session_for_turn(
                session_id=options["session"], username=options["user"], mode=options["mode"]
            )
            post_message(
                session_id=session.pk, user=session.owner, content=options["message"], queue=False
            )
        except ChatError as exc:  # no such session or user, or the session is busy
            raise CommandError(str(exc)) from exc
        printer = self._print_json if options["json"] else self._print_event
        with observing(printer):
            reason = run_session(session.pk)
        flush()
        if not options["json"]:
            self.stdout.write(f"\nsession #{session.pk}: {explain(reason)['sentence']}")
        if reason not in (StopReason.COMPLETED, StopReason.AWAITING_APPROVAL):
            raise CommandError(f"the run stopped: {reason.label}")

    def _print_json(self, event: Envelope) -> None:
        self.stdout.write(json.dumps(event))

    def _print_event(self, event: Envelope) -> None:
        kind, data = event["type"], event["data"]
        if kind == "message.delta":
            self.stdout.write(data["text"], ending="")
            self.stdout.flush()
            return
        if kind == "message.done":
            calls = ", ".join(c["function"]["name"] for c in data["tool_calls"])
            line = f"\n  [{data['provider']}, ${data['cost']}]" + (
                f" calls {calls}" if calls else ""
            )
        elif kind == "tool.started":
            line = f"  -> {data['tool']} {json.dumps(data['arguments'])}"
        elif kind == "tool.finished":
            line = f"  <- {data['tool']} ({data['duration_ms']} ms): {data['summary']}"
        elif kind == "tool.failed":
            line = f"  !! {data['tool']} {data['state']}: {data['error']}"
        elif kind == "guardrail.tripped":
            line = f"  guardrail {data['rule']} ({data['action']}): {data['detail']}"
        elif kind == "approval.requested":
            line = f"  approval needed: engine task #{data['task_id']} ({data['tool']})"
        elif kind == "run.stopped":
            line = f"  stopped: {data['label']}. " + " ".join(data["suggestions"])
        elif kind == "error":
            line = f"  error: {data['message']}"
        elif kind == "session.status":
            line = f"  [{data['label'].lower()}]"
        else:
            return
        self.stdout.write(line)
