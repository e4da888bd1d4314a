"""Check 5: does work finish, and does it fail more than it used to?"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q

from engine.models import Task, TaskState
from selfheal.checks.base import Check, CheckContext, CheckResult, ratio
from selfheal.models import Severity


def _window(done: int, failed: int) -> dict[str, Any]:
    return {"done": done, "failed": failed, "failure_rate": ratio(failed, done + failed)}


class CompletionRateCheck(Check):
    name = "completion_rates"
    title = "Task completion rates"

    # Below this many finished tasks a rate says nothing.
    MIN_SAMPLE = 10
    HOUR_CRITICAL_RATE = 0.5
    DAY_WARNING_RATE = 0.2
    # The last day fails this many times as often as the week before.
    DAY_WARNING_FACTOR = 2.0

    def run(self, context: CheckContext) -> CheckResult:
        now = context.now
        hour, day, week = now - timedelta(hours=1), now - timedelta(days=1), now - timedelta(days=8)
        done, failed = Q(state=TaskState.DONE), Q(state=TaskState.FAILED)
        # One pass over the last eight days of finished work, each window a filtered count;
        # Counting a column the filter reads anyway (Django refuses COUNT(*) with a filter)
        # lets an index on (state, finished_at), where there is one, answer alone.
        counts = Task.objects.filter(
            state__in=[TaskState.DONE, TaskState.FAILED], finished_at__gte=week
        ).aggregate(
            done_hour=Count("state", filter=done & Q(finished_at__gte=hour)),
            failed_hour=Count("state", filter=failed & Q(finished_at__gte=hour)),
            done_day=Count("state", filter=done & Q(finished_at__gte=day)),
            failed_day=Count("state", filter=failed & Q(finished_at__gte=day)),
            done_week=Count("state", filter=done & Q(finished_at__lt=day)),
            failed_week=Count("state", filter=failed & Q(finished_at__lt=day)),
        )
        last_hour = _window(counts["done_hour"], counts["failed_hour"])
        last_day = _window(counts["done_day"], counts["failed_day"])
        week_before = _window(counts["done_week"], counts["failed_week"])
        week_before["done_per_day"] = round(counts["done_week"] / 7, 1)
        evidence = {"last_hour": last_hour, "last_day": last_day, "week_before": week_before}
        return self._judge(evidence)

    def _judge(self, evidence: dict[str, Any]) -> CheckResult:
        hour, day, week = evidence["last_hour"], evidence["last_day"], evidence["week_before"]
        if hour["done"] + hour["failed"] >= self.MIN_SAMPLE and (
            hour["failure_rate"] >= self.HOUR_CRITICAL_RATE
        ):
            return CheckResult(
                Severity.CRITICAL,
                f"{hour['failure_rate']:.0%} of the tasks finished in the last hour failed "
                f"({hour['failed']} of {hour['done'] + hour['failed']}).",
                evidence,
                "Look at the recent error patterns: one fault is failing most of the work.",
            )
        day_total = day["done"] + day["failed"]
        baseline = max(week["failure_rate"] * self.DAY_WARNING_FACTOR, self.DAY_WARNING_RATE)
        if day_total >= self.MIN_SAMPLE and day["failure_rate"] >= baseline:
            return CheckResult(
                Severity.WARNING,
                f"{day['failure_rate']:.0%} of the last day's tasks failed, against "
                f"{week['failure_rate']:.0%} in the week before.",
                evidence,
                "Compare the error patterns with last week's: something new is failing.",
            )
        if day_total == 0 and week["done"] + week["failed"] == 0:
            return CheckResult(Severity.INFO, "No task finished in the last eight days.", evidence)
        return CheckResult(
            Severity.OK,
            f"{day['done']} done and {day['failed']} failed in the last day "
            f"({day['failure_rate']:.1%} failed; the week before: {week['failure_rate']:.1%}).",
            evidence,
        )
