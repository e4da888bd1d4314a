"""The agent loop ("brain"): ask the model, run the tools it calls, feed back the results,
until it answers or something stops the run.

It runs wherever it is called from: a worker executing an engine task of kind ``agent``,
or the terminal command. All its state lives in the database (messages, tool executions,
counters on the session), so a run that paused (Stop, a budget, an approval, a worker
shutting down) continues exactly where it left off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from chat.errors import SessionNotFound
from chat.models import ACTIVE_STATES, ChatMessage, ChatSession, MessageRole, SessionState
from chat.services import context
from chat.services.budgets import OVERRIDE_FIELDS, BudgetTracker
from chat.services.guardrails import GuardrailsTracker, Verdict
from chat.services.interrupt import run_interruptible
from chat.services.publisher import publish, publish_many
from chat.services.runs import (
    announce_state,
    extend_run_timeout,
    finish_run,
    lock_session,
    run_owner_if_not,
    status_data,
)
from chat.services.toolcalls import ToolCalls, describe
from chat.stop_reasons import StopReason
from engine.executors import HandBack, LeaseLost
from engine.models import UNFINISHED_STATES, Task, TaskState
from routing.errors import BudgetExceeded, ProviderError, RoutingError
from routing.money import money_text
from routing.providers import Provider
from routing.redaction import StreamRedactor, redact_text
from routing.services import stream_completion
from routing.types import Completion, Delta

log = logging.getLogger(__name__)

RUNNABLE_STATES = (*ACTIVE_STATES, SessionState.AWAITING_APPROVAL)
RETRY_WAIT_SECONDS = 1.0
BUDGET_EVENT_SECONDS = 1.0


class RunTaskEnded(Exception):
    """The run's engine task ended (cancelled, failed for good) while the loop ran: no later
    attempt will run the session, so the loop ends the run, for `reason`."""

    def __init__(self, reason: StopReason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class StreamCancelled(Exception):
    """Raised inside a model stream the loop walked away from, to end it."""


class DeltaBuffer:
    """Collects streamed text from the model's thread; the loop flushes it as events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self.cancelled = False

    def add(self, delta: Delta) -> None:
        if self.cancelled:
            raise StreamCancelled
        if delta.text:
            with self._lock:
                self._parts.append(delta.text)

    def take(self) -> str:
        with self._lock:
            text, self._parts = "".join(self._parts), []
        return text


class AgentLoop:
    def __init__(
        self,
        session_id: int,
        *,
        task_id: int | None = None,
        provider: Provider | None = None,
        should_hand_back: Callable[[], bool] = lambda: False,
        holds_lease: Callable[[], bool] = lambda: True,
    ) -> None:
        self.session_id = session_id
        # The engine task running this loop (None in the terminal); superseded_by is set when
        # the session's run belongs to another task, and this one left the session alone.
        self.task_id = task_id
        self.superseded_by: int | None = None
        # The engine's word on whether this attempt still holds the task; lease_lost is set
        # when another attempt took the run over and this one left it mid-way.
        self.holds_lease = holds_lease
        self.lease_lost = False
        self._timeout_covers = 0  # the time budget the task's engine timeout was fitted to
        self.provider = provider
        self.should_hand_back = should_hand_back
        self.detail = ""
        self.deltas = DeltaBuffer()
        # A secret split across two flushes is still one secret: the stream is redacted
        # as a whole, its unfinished tail held back (routing.redaction.StreamRedactor).
        self.redactor = StreamRedactor()
        self._step = 0
        self._next_flush = 0.0
        self._next_stop_check = 0.0
        self._next_budget_event = 0.0
        self._budget_shown: tuple[Any, ...] = ()
        self._stop_seen = False

    # --- the run -------------------------------------------------------------------------

    def run(self) -> StopReason:
        try:
            session = self._begin()
        except RunTaskEnded as ended:  # before the run began: nobody else will end it
            finish_run(self.session_id, ended.reason, detail=ended.detail)
            return ended.reason
        if session is None:
            return self._current_stop_reason()
        crashed = False
        try:
            reason = self._loop()
        except HandBack:
            self._hand_back()
            raise
        except LeaseLost:
            return self._leave()
        except RunTaskEnded as ended:
            reason, self.detail = ended.reason, ended.detail
        except Exception as exc:
            # The boundary between the loop and everything it calls: the run ends as an
            # internal error the operator can see, and the worker moves on.
            log.exception("chat session %s: the loop failed", self.session_id)
            self.detail = redact_text(describe(exc))
            reason, crashed = StopReason.INTERNAL_ERROR, True
        try:
            self.ensure_lease()  # only the attempt that holds the task ends its run
        except LeaseLost:
            return self._leave()
        except RunTaskEnded:
            pass  # the run ends anyway, for the reason it had
        if crashed:  # published only now: a later attempt's run is not this one's to fail
            publish(self.session_id, "error", {"message": self.detail, "code": "internal_error"})
        self.flush_deltas(force=True)
        finish_run(self.session_id, reason, detail=self.detail)
        return reason

    def _leave(self) -> StopReason:
        """The session is a later attempt's now: touch nothing, publish nothing."""
        log.warning(
            "chat session %s: task %s lost its lease; a later attempt runs the session",
            self.session_id,
            self.task_id,
        )
        self.lease_lost = True
        return self._current_stop_reason()

    def _current_stop_reason(self) -> StopReason:
        current = ChatSession.objects.filter(pk=self.session_id).first()
        return (
            StopReason(current.stop_reason)
            if current and current.stop_reason
            else StopReason.COMPLETED
        )

    def _begin(self) -> ChatSession | None:
        with transaction.atomic():
            try:
                session = lock_session(self.session_id)
            except SessionNotFound:
                return None
            if session.state not in RUNNABLE_STATES:
                return None
            self.superseded_by = run_owner_if_not(session, self.task_id)
            if self.superseded_by is not None:
                log.info("chat session %s: its run is task %s's", session.pk, self.superseded_by)
                return None
            try:
                self.ensure_lease()
            except LeaseLost:
                self._leave()
                return None
            self.session = session
            self.tracker = BudgetTracker(session)
            self.tracker.sync_cost()
            resumed = session.steps_used > 0 or bool(context.pending_tool_calls(session))
            if session.segment_started_at is None:
                self.tracker.start_segment()
            session.state = SessionState.THINKING
            session.save(update_fields=["state", "updated_at"])
            publish_many(
                session.pk,
                [
                    ("run.started", {"run": session.run_number, "resumed": resumed}),
                    ("session.status", status_data(session)),
                    self.budget_event(),
                ],
            )
        self.guard = GuardrailsTracker(nudged=session.nudged_rules or [])
        self.calls = ToolCalls(self)
        return session

    def _loop(self) -> StopReason:
        while True:
            self.ensure_lease()
            pending = context.pending_tool_calls(self.session)
            if pending:
                reason = self.calls.run_pending(pending)
                if reason is None:  # the step's calls are all answered: did it get anywhere?
                    history = context.step_history(self.session)
                    reason = self.apply_verdict(self.guard.after_step(history))
                if reason is not None:
                    return reason
                continue
            reason = self._check_controls()
            if reason is None:
                reason = self._model_step()
            if reason is not None:
                return reason

    def _hand_back(self) -> None:
        self.tracker.end_segment()
        announce_state(self.session, SessionState.QUEUED, detail="the worker is stopping")

    # --- controls ------------------------------------------------------------------------

    def ensure_lease(self) -> None:
        """Before the run begins, every step and tool call, and before the run ends: a
        worker whose heartbeats stopped while this loop ran on may have lost the task to the
        stuck detector, and another worker may be running this session now (`LeaseLost`:
        leave it alone). A task cancelled or failed for good has no later attempt: the run
        ends here (`RunTaskEnded`). A step under way finishes."""
        if self.task_id is None or self.holds_lease():
            return
        state = Task.objects.filter(pk=self.task_id).values_list("state", flat=True).first()
        if state in UNFINISHED_STATES or state == TaskState.DONE:
            raise LeaseLost(f"chat session {self.session_id}: task {self.task_id} lost its lease")
        if state == TaskState.CANCELLED:
            raise RunTaskEnded(StopReason.USER_STOPPED, f"its task #{self.task_id} was cancelled")
        raise RunTaskEnded(
            StopReason.INTERNAL_ERROR,
            f"the engine gave up on its task #{self.task_id} ({state or 'deleted'})",
        )

    def _check_controls(self) -> StopReason | None:
        """Before every step: the Stop control, the worker, every budget."""
        self.session.refresh_from_db(fields=["stop_requested"])
        if self.session.stop_requested:
            return StopReason.USER_STOPPED
        if self.should_hand_back():
            raise HandBack(f"chat session {self.session_id}: worker stopping")
        self.tracker.reload_limits()
        if self.tracker.limits.seconds > self._timeout_covers:  # a policy edit raised it
            self._timeout_covers = self.tracker.limits.seconds
            extend_run_timeout(self.task_id, self.tracker.limits)
        self.tracker.sync_cost()
        exceeded = self.tracker.exceeded()
        if exceeded is not None:
            self.detail = self.tracker.describe(exceeded)
        return exceeded

    def abort_reason(self) -> str:
        """Within a step: checked every slice while a model streams, a tool runs or a retry
        waits, and before each tool call. The Stop control and the session's own limits are
        re-read every CHAT_STOP_POLL_MS; every budget that can move during a step (time,
        retries, money) is judged on each call."""
        now = time.monotonic()
        if now >= self._next_stop_check:
            self._next_stop_check = now + settings.CHAT_STOP_POLL_MS / 1000
            self.session.refresh_from_db(fields=["stop_requested", *OVERRIDE_FIELDS])
            self._stop_seen = self.session.stop_requested
            self.tracker.overrides_changed()
        if self._stop_seen:
            return StopReason.USER_STOPPED.value
        exceeded = self.tracker.exceeded_during_step()
        if exceeded is not None:
            self.detail = self.tracker.describe(exceeded)
            return exceeded.value
        return ""

    def tick(self) -> None:
        """Every slice within a step: streamed tokens out, and the meters: at once when a
        count or a limit moved, else every BUDGET_EVENT_SECONDS for the clock (and the money
        routing charged meanwhile)."""
        self.flush_deltas()
        now = time.monotonic()
        if now >= self._next_budget_event:
            self.tracker.sync_cost()
        elif self.tracker.counters() == self._budget_shown:
            return
        publish(self.session_id, *self.budget_event())

    def budget_event(self) -> tuple[str, dict[str, Any]]:
        """A `budget.updated` event, remembered so the clock does not repeat it too soon."""
        self._next_budget_event = time.monotonic() + BUDGET_EVENT_SECONDS
        self._budget_shown = self.tracker.counters()
        return "budget.updated", self.tracker.snapshot()

    def flush_deltas(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_flush:
            return
        self._next_flush = now + settings.CHAT_DELTA_FLUSH_MS / 1000
        text = self.redactor.feed(self.deltas.take(), final=force)
        if text:
            publish(self.session_id, "message.delta", {"step": self._step, "text": text})

    def apply_verdict(self, verdict: Verdict | None) -> StopReason | None:
        if verdict is None:
            return None
        publish(
            self.session_id,
            "guardrail.tripped",
            {"rule": verdict.rule, "action": verdict.action, "detail": verdict.detail},
        )
        if verdict.stop:
            self.detail = verdict.detail
            return StopReason(verdict.stop_reason)
        context.add_system_note(self.session, verdict.nudge)
        self.session.nudged_rules = sorted(self.guard.nudged)
        self.session.save(update_fields=["nudged_rules", "updated_at"])
        return None

    # --- one step: ask the model -----------------------------------------------------------

    def _model_step(self) -> StopReason | None:
        session = self.session
        self.tracker.add_step()
        self._step = session.steps_used
        messages = context.model_messages(session)
        specs = [tool.spec() for tool in self.calls.available()] or None
        self.deltas = buffer = DeltaBuffer()
        self.redactor = StreamRedactor()
        outcome = run_interruptible(
            lambda: self._stream(messages, specs, buffer),
            should_abort=self.abort_reason,
            on_tick=self.tick,
            name=f"chat-model-{session.pk}",
        )
        self.flush_deltas(force=True)
        if not outcome.finished:
            buffer.cancelled = True
            return StopReason(outcome.aborted)
        if outcome.error is not None:
            return self._model_failed(outcome.error)
        return self._answered(outcome.value)

    def _stream(
        self,
        messages: list[dict[str, Any]],
        specs: list[dict[str, Any]] | None,
        buffer: DeltaBuffer,
    ) -> Completion:
        """Runs in its own thread. The stream is closed here, in this thread, whatever
        happens: an abandoned one settles its cost with this thread's connection."""
        session = self.session
        stream = stream_completion(
            mode=session.mode,
            messages=messages,
            tools=specs,
            session_ref=session.ref,
            session_ceiling=self.tracker.limits.cost,
            source="chat",
            provider=self.provider,
            user_id=session.owner_id,
        )
        try:
            for delta in stream:
                buffer.add(delta)
        finally:
            stream.close()
        if stream.completion is None:
            raise StreamCancelled
        return stream.completion

    def _answered(self, completion: Completion) -> StopReason | None:
        session = self.session
        self.tracker.add_cost(completion.cost)
        content = redact_text(completion.content or "")
        calls = [call.as_openai() for call in completion.tool_calls]
        message = ChatMessage.objects.create(
            session=session,
            run=session.run_number,
            role=MessageRole.ASSISTANT,
            content=content,
            tool_calls=calls,
            model=completion.model,
            provider=completion.provider,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            cost=completion.cost,
        )
        publish_many(
            session.pk,
            [
                (
                    "message.done",
                    {
                        "message_id": message.pk,
                        "step": self._step,
                        "content": content,
                        "tool_calls": calls,
                        "model": completion.model,
                        "provider": completion.provider_label,
                        "offline": completion.offline,
                        "prompt_tokens": completion.usage.prompt_tokens,
                        "completion_tokens": completion.usage.completion_tokens,
                        "cost": money_text(completion.cost),
                    },
                ),
                self.budget_event(),
            ],
        )
        verdict = self.guard.after_answer(context.answer_history(session))
        reason = self.apply_verdict(verdict)
        if reason is not None or verdict is not None or calls or not content.strip():
            return reason
        return StopReason.COMPLETED

    def _model_failed(self, error: BaseException) -> StopReason | None:
        if not isinstance(error, Exception):
            raise error
        if isinstance(error, BudgetExceeded):
            self.detail = str(error)
            return StopReason.COST_BUDGET
        if not isinstance(error, RoutingError):
            raise error
        message = redact_text(str(error))
        publish(self.session_id, "error", {"message": message, "code": error.code})
        if isinstance(error, ProviderError) and error.fallback:
            if self.tracker.can_retry():
                self.tracker.add_retry()
                return self._wait(RETRY_WAIT_SECONDS * self.session.retries_used)
            self.detail = message
            return StopReason.RETRY_BUDGET
        self.detail = message
        return StopReason.MODEL_UNAVAILABLE

    def _wait(self, seconds: float) -> StopReason | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            reason = self.abort_reason()
            if reason:
                return StopReason(reason)
            self.tick()
            time.sleep(0.05)
        return None


def run_session(
    session_id: int,
    *,
    task_id: int | None = None,
    provider: Provider | None = None,
    should_hand_back: Callable[[], bool] = lambda: False,
) -> StopReason:
    loop = AgentLoop(
        session_id, task_id=task_id, provider=provider, should_hand_back=should_hand_back
    )
    return loop.run()
