"""`GuardrailsTracker`: notices an agent going round in circles.

The rules read the run's history (its tool executions and its messages, in order), so a
resumed run judges exactly as an uninterrupted one would. Each rule nudges the model once,
one repetition before its threshold, and stops the run at the threshold.

Most rules catch repetition. A monologue repeats nothing: new words and a new call every
step, until the step budget runs out. What it lacks is progress, so `after_step` judges each
step once its calls are answered: a step made progress when a call changed something (a
`write` or `dangerous` tool that succeeded: an outcome the user can see) or brought a result
the run had not seen before, unless it only called again the tools of the step before
(the same tool with ever new arguments). Steps that only poll are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings


class Rule:
    REPEATED_CALL = "repeated_call"
    REPEATED_FAILURE = "repeated_failure"
    ALTERNATING_CALLS = "alternating_calls"
    REPEATED_ANSWER = "repeated_answer"
    EMPTY_ANSWERS = "empty_answers"
    NO_PROGRESS = "no_progress"


@dataclass(frozen=True)
class CallRecord:
    tool: str
    arguments_digest: str
    output_digest: str
    failed: bool
    polling: bool = False

    @property
    def signature(self) -> tuple[str, str]:
        return (self.tool, self.arguments_digest)


@dataclass(frozen=True)
class StepRecord:
    """One step's answered tool calls, as the progress rule reads them."""

    tools: tuple[str, ...]  # the tools it called, sorted, each once
    outcome: bool = False  # a write or dangerous call succeeded: something changed
    fresh: bool = False  # a call succeeded with a result not seen earlier in the run
    polling: bool = False  # every call went to a polling tool

    def idle(self, previous: StepRecord | None) -> bool:
        if self.outcome:
            return False
        same_tools = previous is not None and previous.tools == self.tools
        return not self.fresh or same_tools


@dataclass(frozen=True)
class AnswerRecord:
    """One message of the run as the answer rules read it: an assistant message, or a user
    message, which breaks every chain."""

    text: str  # whitespace-normalised
    calls: bool = False  # it called tools
    polling: bool = False  # it called tools, every one of them a polling tool
    user: bool = False

    @property
    def empty(self) -> bool:
        """An empty answer: no words and no calls."""
        return not self.user and not self.text and not self.calls

    @property
    def repeat_key(self) -> str | None:
        """What the repeated-answer rule compares; None breaks the chain. A message that only
        polls ("still waiting for #12") is expected to repeat itself, like a polling call."""
        if self.user or self.polling or not self.text:
            return None
        return self.text


def normalise(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Thresholds:
    repeated_calls: int
    repeated_failures: int
    alternations: int
    repeated_answers: int
    empty_answers: int
    idle_steps: int = 6

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            repeated_calls=settings.CHAT_LOOP_REPEAT_CALLS,
            repeated_failures=settings.CHAT_LOOP_REPEAT_FAILURES,
            alternations=settings.CHAT_LOOP_ALTERNATIONS,
            repeated_answers=settings.CHAT_LOOP_REPEAT_ANSWERS,
            empty_answers=settings.CHAT_LOOP_EMPTY_ANSWERS,
            idle_steps=settings.CHAT_LOOP_IDLE_STEPS,
        )


@dataclass(frozen=True)
class Verdict:
    rule: str
    stop: bool
    detail: str
    nudge: str  # what the model is told; empty when the run stops
    stop_reason: str = "loop_detected"  # a StopReason value, when it stops the run

    @property
    def action(self) -> str:
        return "stop" if self.stop else "nudge"


def _tail_length(items: Sequence[object], same: object) -> int:
    count = 0
    for item in reversed(items):
        if item != same:
            break
        count += 1
    return count


class GuardrailsTracker:
    def __init__(self, thresholds: Thresholds | None = None, *, nudged: Sequence[str] = ()):
        self.thresholds = thresholds or Thresholds.from_settings()
        self.nudged = set(nudged)

    def _judge(
        self,
        rule: str,
        count: int,
        threshold: int,
        what: str,
        advice: str,
        *,
        unit: str = "times",
        stop_reason: str = "loop_detected",
    ) -> Verdict | None:
        said = f"{what} {count} {unit}"
        if count >= threshold:
            detail = f"{said}; the threshold is {threshold}."
            return Verdict(rule, True, detail, "", stop_reason)
        if count == threshold - 1 and rule not in self.nudged:
            self.nudged.add(rule)
            detail = f"{said}; one more stops the run."
            return Verdict(rule, False, detail, f"Guardrail: {said}. {advice}", stop_reason)
        return None

    def after_call(self, calls: Sequence[CallRecord]) -> Verdict | None:
        """Judge the run's tool calls after the newest one finished."""
        if not calls:
            return None
        last = calls[-1]
        limits = self.thresholds
        if last.failed:
            same = [c.signature if c.failed else None for c in calls]
            count = _tail_length(same, last.signature)
            verdict = self._judge(
                Rule.REPEATED_FAILURE,
                count,
                limits.repeated_failures,
                f"you have made the same failing call to {last.tool}",
                "It will fail again: fix the arguments, use another tool, or answer.",
            )
            if verdict:
                return verdict
        elif not last.polling:
            keys = [(c.signature, c.output_digest, c.failed) for c in calls]
            count = _tail_length(keys, (last.signature, last.output_digest, False))
            verdict = self._judge(
                Rule.REPEATED_CALL,
                count,
                limits.repeated_calls,
                f"you have called {last.tool} with the same arguments and the same result",
                "Calling it again will not change the result: use what you have, or answer.",
            )
            if verdict:
                return verdict
        return self._alternation(calls)

    def _alternation(self, calls: Sequence[CallRecord]) -> Verdict | None:
        if len(calls) < 2 or any(c.polling for c in calls[-2:]):
            return None
        signatures = [c.signature for c in calls]
        a, b = signatures[-1], signatures[-2]
        if a == b:
            return None
        length = 2
        for index in range(len(signatures) - 3, -1, -1):
            if signatures[index] != (b if (len(signatures) - 1 - index) % 2 else a):
                break
            length += 1
        cycles = length // 2
        names = f"{calls[-2].tool} and {calls[-1].tool}"
        return self._judge(
            Rule.ALTERNATING_CALLS,
            cycles,
            self.thresholds.alternations,
            f"you have alternated between {names}",
            "Alternating will not make progress: decide with what you have, or answer.",
        )

    def after_step(self, steps: Sequence[StepRecord]) -> Verdict | None:
        """Judge the run's steps once the newest step's calls are all answered: how many
        steps in a row made no progress (see the module's docstring)."""
        judged = [step for step in steps if not step.polling]
        if not steps or steps[-1].polling or not judged:
            return None
        idle = [
            step.idle(judged[index - 1] if index else None) for index, step in enumerate(judged)
        ]
        return self._judge(
            Rule.NO_PROGRESS,
            _tail_length(idle, True),
            self.thresholds.idle_steps,
            "you have called tools without progress (no new result, nothing changed) for",
            "Answer with what you have found and say what is missing, or try another way; "
            "more of the same stops the run.",
            unit="steps in a row",
            stop_reason="no_progress",
        )

    def after_answer(self, answers: Sequence[AnswerRecord]) -> Verdict | None:
        """Judge the run's messages after the newest assistant message.

        Empty answers count while nothing else comes between. The same words count whether
        or not the messages called tools (a model that keeps saying "Let me check" while it
        calls one tool after another is not moving on); a user message, a message with other
        words or none, and one that only polls break the chain."""
        if not answers:
            return None
        last = answers[-1]
        if last.empty:
            count = _tail_length([a.empty for a in answers], True)
            return self._judge(
                Rule.EMPTY_ANSWERS,
                count,
                self.thresholds.empty_answers,
                "your answer was empty",
                "Answer the user's request in words, or call a tool.",
            )
        key = last.repeat_key
        if key is None:
            return None
        count = _tail_length([a.repeat_key for a in answers], key)
        return self._judge(
            Rule.REPEATED_ANSWER,
            count,
            self.thresholds.repeated_answers,
            "you have written the same message",
            "Repeating it will not help: say something new, call a tool, or finish.",
        )
