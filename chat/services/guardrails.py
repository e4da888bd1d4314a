"""`GuardrailsTracker`: notices an agent going round in circles.

The rules read the run's history (its tool executions and its messages, in order), so a
resumed run judges exactly as an uninterrupted one would. Each rule nudges the model once,
one repetition before its threshold, and stops the run at the threshold.
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

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            repeated_calls=settings.CHAT_LOOP_REPEAT_CALLS,
            repeated_failures=settings.CHAT_LOOP_REPEAT_FAILURES,
            alternations=settings.CHAT_LOOP_ALTERNATIONS,
            repeated_answers=settings.CHAT_LOOP_REPEAT_ANSWERS,
            empty_answers=settings.CHAT_LOOP_EMPTY_ANSWERS,
        )


@dataclass(frozen=True)
class Verdict:
    rule: str
    stop: bool
    detail: str
    nudge: str  # what the model is told; empty when the run stops

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
        self, rule: str, count: int, threshold: int, what: str, advice: str
    ) -> Verdict | None:
        if count >= threshold:
            return Verdict(rule, True, f"{what} {count} times; the threshold is {threshold}.", "")
        if count == threshold - 1 and rule not in self.nudged:
            self.nudged.add(rule)
            detail = f"{what} {count} times; one more stops the run."
            return Verdict(rule, False, detail, f"Guardrail: {what} {count} times. {advice}")
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
