"""Why a run stopped: an enumeration, each with a sentence and what the operator can do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models


class StopReason(models.TextChoices):
    COMPLETED = "completed", "Completed"
    USER_STOPPED = "user_stopped", "Stopped by the user"
    STEP_BUDGET = "step_budget", "Step budget reached"
    TIME_BUDGET = "time_budget", "Time budget reached"
    COST_BUDGET = "cost_budget", "Cost budget reached"
    RETRY_BUDGET = "retry_budget", "Retry budget reached"
    LOOP_DETECTED = "loop_detected", "Loop detected"
    NO_PROGRESS = "no_progress", "No progress"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    MODEL_UNAVAILABLE = "model_unavailable", "Model unavailable"
    TOOL_ERROR = "tool_error", "Tool error"
    INTERNAL_ERROR = "internal_error", "Internal error"


@dataclass(frozen=True)
class Explanation:
    sentence: str
    suggestions: tuple[str, ...]
    # Paused runs keep their state: Run continues them where they stopped.
    resumable: bool


EXPLANATIONS: dict[StopReason, Explanation] = {
    StopReason.COMPLETED: Explanation(
        "The agent answered and has nothing left to do.",
        ("Send another message to start a new run.",),
        False,
    ),
    StopReason.USER_STOPPED: Explanation(
        "You stopped the run; its progress is kept.",
        ("Press Run to continue where it stopped.", "Send a message to change course."),
        True,
    ),
    StopReason.STEP_BUDGET: Explanation(
        "The run used every step its budget allows.",
        (
            "Raise the step budget, then press Run to continue.",
            "Ask a narrower question.",
            "Switch to code mode, which allows more steps.",
        ),
        True,
    ),
    StopReason.TIME_BUDGET: Explanation(
        "The run used all the wall time its budget allows.",
        ("Raise the time budget, then press Run to continue.", "Ask a narrower question."),
        True,
    ),
    StopReason.COST_BUDGET: Explanation(
        "The session spent (or the next call could spend) more than its cost budget.",
        (
            "Raise the cost budget, then press Run to continue.",
            "Switch to ops mode, whose models are cheaper.",
        ),
        True,
    ),
    StopReason.RETRY_BUDGET: Explanation(
        "Too many calls failed and were retried in this run.",
        (
            "Check the model provider's status on the Model routing page.",
            "Raise the retry budget, then press Run to continue.",
        ),
        True,
    ),
    StopReason.LOOP_DETECTED: Explanation(
        "The agent kept repeating itself after it was warned, so the run was stopped.",
        (
            "Rephrase the request with more detail.",
            "Send a message telling the agent what to do differently.",
            "Switch to code mode for a stronger model.",
        ),
        True,
    ),
    StopReason.NO_PROGRESS: Explanation(
        "The agent kept calling tools, step after step, without getting anywhere (no new "
        "results, nothing changed), even after it was warned, so the run was stopped.",
        (
            "Send a message saying what to look for, or giving what it is missing.",
            "Narrow the request to one question a tool can answer.",
            "Switch to code mode for a stronger model.",
        ),
        True,
    ),
    StopReason.AWAITING_APPROVAL: Explanation(
        "The agent wants to run a dangerous tool and waits for a human decision.",
        ("Approve or reject the request on the Engine page; the run resumes either way.",),
        False,
    ),
    StopReason.MODEL_UNAVAILABLE: Explanation(
        "No model could answer: the provider failed or every model was ruled out.",
        (
            "Check the provider's key and status on the Model routing page.",
            "Press Run to try again.",
            "Switch to another mode, whose policy uses other models.",
        ),
        True,
    ),
    StopReason.TOOL_ERROR: Explanation(
        "A tool failed in a way the agent cannot work around.",
        ("Read the tool's error in the timeline.", "Fix the cause, then press Run to continue."),
        True,
    ),
    StopReason.INTERNAL_ERROR: Explanation(
        "Something went wrong inside Juggernaut; the error was recorded.",
        ("Press Run to try again.", "Report the error if it comes back."),
        True,
    ),
}


def explain(reason: StopReason | str, *, detail: str = "") -> dict[str, Any]:
    """The `run.stopped` event's data for a reason."""
    stop = StopReason(reason)
    explanation = EXPLANATIONS[stop]
    return {
        "reason": stop.value,
        "label": stop.label,
        "sentence": explanation.sentence,
        "suggestions": list(explanation.suggestions),
        "resumable": explanation.resumable,
        "detail": detail,
    }
