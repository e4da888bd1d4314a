"""Running the tool calls a model asked for: validate, ask approval, run, judge, record.

Every call the model made gets exactly one result message, whatever happened to it (an
error, a rejection, a stop), because a model must see an answer to each call it made.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from chat.models import (
    ChatMessage,
    ChatSession,
    ExecutionState,
    MessageRole,
    SessionState,
    ToolExecution,
)
from chat.services import context
from chat.services.budgets import BudgetTracker
from chat.services.guardrails import GuardrailsTracker, Verdict
from chat.services.interrupt import run_interruptible
from chat.services.publisher import publish
from chat.services.runs import AGENT_KIND, announce_state, run_timeout
from chat.stop_reasons import StopReason
from chat.tools import Tool, ToolContext, ToolError, ToolFatalError, tools
from engine.models import ApprovalDecision, Task, TaskSource, TaskState
from engine.services import create_task, request_approval
from engine.services.history import system_actor
from routing.redaction import redact, redact_text
from routing.services import ModePolicies

log = logging.getLogger(__name__)

SUMMARY_CHARS = 200


class LoopControls(Protocol):
    session: ChatSession
    tracker: BudgetTracker
    guard: GuardrailsTracker

    def abort_reason(self) -> str: ...

    def ensure_lease(self) -> None: ...

    def tick(self) -> None: ...

    def apply_verdict(self, verdict: Verdict | None) -> StopReason | None: ...


def render_output(value: Any, cap: int) -> str:
    """A tool's result as the model, the database and the stream see it: redacted, capped.
    A structured result is redacted by its keys first (`cookie`, `dsn`, `Authorization`...),
    which the text patterns alone would miss once it is JSON."""
    if not isinstance(value, str):
        value = json.dumps(redact(value), cls=DjangoJSONEncoder)
    text = redact_text(value)
    if len(text) > cap:
        text = f"{text[:cap]}… [truncated {len(text) - cap} characters]"
    return text


def describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def summarise(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


class ToolCalls:
    def __init__(self, loop: LoopControls) -> None:
        self.loop = loop
        self.session = loop.session

    def available(self) -> list[Tool]:
        policy = ModePolicies().policy_for(self.session.mode)
        return tools.available(mode=self.session.mode, permissions=list(policy.tool_permissions))

    def run_pending(self, calls: list[dict[str, Any]]) -> StopReason | None:
        for call in calls:
            # The task may have changed hands during the call before (LeaseLost): the calls
            # left are the later attempt's to run.
            self.loop.ensure_lease()
            # Stop, or a budget used up since the model answered (its cost landed, the clock
            # ran out): the calls left wait, unanswered, and Run continues with them.
            aborted = self.loop.abort_reason()
            if aborted:
                return StopReason(aborted)
            reason = self.run_one(call)
            if reason is not None:
                return reason
        return None

    def run_one(self, call: dict[str, Any]) -> StopReason | None:
        call_id = str(call.get("id", ""))
        function = call.get("function") or {}
        name = str(function.get("name", ""))
        waiting = ToolExecution.objects.filter(
            session=self.session, call_id=call_id, state=ExecutionState.AWAITING_APPROVAL
        ).first()
        if waiting is not None:
            return self._decided(waiting)
        tool = next((t for t in self.available() if t.name == name), None)
        if tool is None:
            offered = ", ".join(t.name for t in self.available()) or "none"
            return self._refuse(
                call_id, name, {}, f"no tool {name!r} in this mode; tools: {offered}"
            )
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            return self._refuse(call_id, name, {}, "arguments are not valid JSON")
        # Before anything runs or anyone is asked to approve it: a call naming something
        # that does not exist (a task kind no worker can run) is answered with what does.
        errors = self._problems(tool, arguments)
        if errors:
            return self._refuse(call_id, name, arguments, "invalid arguments: " + "; ".join(errors))
        refused = self._refusal(tool)
        if refused:
            return self._refuse(call_id, name, arguments, refused)
        retry = context.previous_failures(
            self.session, tool=name, arguments_digest=context.digest(arguments)
        )
        if retry:
            if not self.loop.tracker.can_retry():
                return StopReason.RETRY_BUDGET
            self.loop.tracker.add_retry()
        execution = ToolExecution.objects.create(
            session=self.session,
            run=self.session.run_number,
            step=self.session.steps_used,
            call_id=call_id,
            tool=name,
            arguments=redact(arguments),
            arguments_digest=context.digest(arguments),
            permission=tool.permission,
            retry_number=retry,
        )
        if tool.dangerous:
            return self._ask_approval(execution, tool, arguments)
        return self._execute(execution, tool, arguments)

    def _problems(self, tool: Tool, arguments: Any) -> list[str]:
        """The call's argument problems; a check that fails is itself one, not the run's end."""
        try:
            return tool.problems(self._tool_context(), arguments)
        except Exception as exc:
            log.warning("tool %s: its argument check failed", tool.name, exc_info=True)
            return [f"the tool could not check its arguments ({describe(exc)})"]

    def _refusal(self, tool: Tool) -> str:
        """Why the tool refuses this session's call, or "". A refusal check that fails
        refuses the call, not the whole run."""
        try:
            return tool.refused(self._tool_context()) or ""
        except Exception as exc:
            log.warning("tool %s: its refusal check failed", tool.name, exc_info=True)
            return f"the tool could not check whether this call is allowed ({describe(exc)})"

    def _tool_context(self) -> ToolContext:
        session = self.session
        return ToolContext(session_id=session.pk, owner_id=session.owner_id, mode=session.mode)

    # --- outcomes ---------------------------------------------------------------------

    def _result_message(self, call_id: str, name: str, text: str) -> None:
        ChatMessage.objects.create(
            session=self.session,
            run=self.session.run_number,
            role=MessageRole.TOOL,
            tool_call_id=call_id,
            name=name,
            content=text,
        )

    def _fail(self, execution: ToolExecution, state: ExecutionState, error: str) -> None:
        error = redact_text(error)
        now = timezone.now()
        execution.state = state
        execution.error = error
        execution.finished_at = now
        execution.duration_ms = int((now - execution.started_at).total_seconds() * 1000)
        execution.output_digest = context.digest(error)
        execution.save()
        self._result_message(execution.call_id, execution.tool, f"error: {error}")
        publish(
            self.session.pk,
            "tool.failed",
            {
                "execution_id": execution.pk,
                "tool": execution.tool,
                "state": state,
                "error": error,
                "duration_ms": execution.duration_ms,
            },
        )

    def _refuse(self, call_id: str, name: str, arguments: Any, error: str) -> StopReason | None:
        """A call that never ran (unknown tool, bad arguments): an error fed to the model."""
        clean = redact(arguments) if isinstance(arguments, dict) else {}
        digest = context.digest(arguments)
        execution = ToolExecution.objects.create(
            session=self.session,
            run=self.session.run_number,
            step=self.session.steps_used,
            call_id=call_id,
            tool=name[:100],
            arguments=clean,
            arguments_digest=digest,
            retry_number=context.previous_failures(
                self.session, tool=name, arguments_digest=digest
            ),
        )
        self._fail(execution, ExecutionState.FAILED, error)
        return self.loop.apply_verdict(
            self.loop.guard.after_call(context.call_history(self.session))
        )

    def _ask_approval(
        self, execution: ToolExecution, tool: Tool, arguments: dict[str, Any]
    ) -> StopReason:
        session = self.session
        shown = json.dumps(redact(arguments), sort_keys=True)
        reason = (
            f"Chat session #{session.pk} asks to run the dangerous tool {tool.name} with "
            f"{shown}: {tool.description}"
        )
        # Approved, this task goes back to the queue and carries the rest of the run.
        task = create_task(
            title=f"Approve {tool.name} for chat #{session.pk}"[:200],
            kind=AGENT_KIND,
            payload={"session": session.pk, "execution": execution.pk},
            priority=70,
            timeout_seconds=run_timeout(self.loop.tracker.limits),
            source=TaskSource.CHAT,
            source_ref=session.ref,
            created_by=session.owner,
            dangerous=True,  # approving needs engine.approve_dangerous_task; four eyes apply
        ).task
        request_approval(task_id=task.pk, reason=reason, actor=system_actor(f"chat-{session.pk}"))
        execution.state = ExecutionState.AWAITING_APPROVAL
        execution.approval_task = task
        execution.save(update_fields=["state", "approval_task"])
        session.current_task = task
        session.save(update_fields=["current_task", "updated_at"])
        publish(
            session.pk,
            "approval.requested",
            {
                "execution_id": execution.pk,
                "task_id": task.pk,
                "tool": tool.name,
                "arguments": redact(arguments),
                "reason": reason,
            },
        )
        return StopReason.AWAITING_APPROVAL

    def _decided(self, execution: ToolExecution) -> StopReason | None:
        """Resume a call that waited for a human."""
        task: Task | None = execution.approval_task
        if task is not None:
            task.refresh_from_db()
        if task is not None and task.approval_decision == ApprovalDecision.APPROVED:
            # What allowed the call may have changed while it waited: the tool may be gone,
            # the mode's policy may no longer grant its permission, or the tool may refuse.
            tool = next((t for t in self.available() if t.name == execution.tool), None)
            refused = (
                self._refusal(tool)
                if tool
                else f"the {self.session.mode} mode no longer allows the tool {execution.tool!r}"
            )
            if refused or tool is None:
                self._fail(execution, ExecutionState.FAILED, refused)
                return self.loop.apply_verdict(
                    self.loop.guard.after_call(context.call_history(self.session))
                )
            execution.state = ExecutionState.RUNNING
            execution.started_at = timezone.now()
            execution.save(update_fields=["state", "started_at"])
            return self._execute(execution, tool, dict(execution.arguments))
        if task is not None and task.state == TaskState.WAITING_APPROVAL:
            return StopReason.AWAITING_APPROVAL
        if task is not None and task.approval_decision == ApprovalDecision.REJECTED:
            who = task.decided_by.get_username() if task.decided_by else "the operator"
            self._fail(execution, ExecutionState.REJECTED, f"{who} rejected this call")
        else:
            self._fail(execution, ExecutionState.CANCELLED, "the approval request was cancelled")
        return None

    def _execute(
        self, execution: ToolExecution, tool: Tool, arguments: dict[str, Any]
    ) -> StopReason | None:
        session = self.session
        announce_state(session, SessionState.RUNNING_TOOL, detail=tool.name)
        publish(
            session.pk,
            "tool.started",
            {
                "execution_id": execution.pk,
                "tool": tool.name,
                "arguments": execution.arguments,
                "permission": tool.permission,
                "step": execution.step,
                "retry_number": execution.retry_number,
            },
        )
        tool_context = self._tool_context()
        outcome = run_interruptible(
            lambda: tool.function(tool_context, arguments),
            should_abort=self.loop.abort_reason,
            on_tick=self.loop.tick,
            timeout=tool.timeout_seconds,
            name=f"chat-tool-{tool.name}",
        )
        if not outcome.finished:
            tool_context.cancelled.set()
        if outcome.aborted:
            self._fail(execution, ExecutionState.CANCELLED, f"cancelled: {outcome.aborted}")
            return StopReason(outcome.aborted)
        if outcome.timed_out:
            self._fail(
                execution, ExecutionState.TIMED_OUT, f"timed out after {tool.timeout_seconds:g} s"
            )
        elif outcome.error is not None:
            error = outcome.error
            if not isinstance(error, Exception):
                raise error
            message = str(error) if isinstance(error, ToolError) else describe(error)
            self._fail(execution, ExecutionState.FAILED, message)
            if isinstance(error, ToolFatalError):
                return StopReason.TOOL_ERROR
        else:
            self._succeed(execution, render_output(outcome.value, tool.output_cap))
        announce_state(session, SessionState.THINKING)
        return self.loop.apply_verdict(self.loop.guard.after_call(context.call_history(session)))

    def _succeed(self, execution: ToolExecution, output: str) -> None:
        now = timezone.now()
        execution.state = ExecutionState.SUCCEEDED
        execution.output = output
        execution.output_digest = context.digest(output)
        execution.result_summary = summarise(output)
        execution.finished_at = now
        execution.duration_ms = int((now - execution.started_at).total_seconds() * 1000)
        execution.save()
        self._result_message(execution.call_id, execution.tool, output)
        publish(
            self.session.pk,
            "tool.finished",
            {
                "execution_id": execution.pk,
                "tool": execution.tool,
                "summary": execution.result_summary,
                "output": output,
                "duration_ms": execution.duration_ms,
            },
        )
