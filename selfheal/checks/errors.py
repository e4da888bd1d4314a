"""Check 4: which errors keep coming back?"""

from __future__ import annotations

from selfheal.checks.base import Check, CheckContext, CheckResult
from selfheal.error_patterns import RECURRENCE, error_pattern_sources, top_error_patterns
from selfheal.models import Severity


class ErrorPatternsCheck(Check):
    name = "error_patterns"
    title = "Recent error patterns"

    # What "recurring" means, shared with the repair that opens fix tasks for them
    # (selfheal.error_patterns.Recurrence: ≥ 10 in 24 h, and seen in the last 15 min).
    RECURRENCE = RECURRENCE
    PATTERNS_SHOWN = 10
    CRITICAL_COUNT = 500

    def run(self, context: CheckContext) -> CheckResult:
        rule, now = self.RECURRENCE, context.now
        hours = f"{rule.window.total_seconds() / 3600:g}"
        patterns = top_error_patterns(since=rule.since(now), limit=self.PATTERNS_SHOWN)
        recurring = [p for p in patterns if rule.recurring(p, now=now)]
        quiet = [p for p in patterns if rule.quiet(p, now=now)]
        evidence = {
            "window_hours": rule.window.total_seconds() / 3600,
            "recurring_means": rule.describe(),
            "sources": [source.name for source in error_pattern_sources()],
            "patterns": [
                {**pattern.as_dict(), "recurring": rule.recurring(pattern, now=now)}
                for pattern in patterns
            ],
            "recurring": len(recurring),
            "quiet": len(quiet),
            "errors_in_top_patterns": sum(pattern.count for pattern in patterns),
        }
        if not patterns:
            return CheckResult(Severity.OK, f"No errors in the last {hours} hours.", evidence)
        if not recurring:
            top = patterns[0]
            gone = f", {len(quiet)} of them frequent but quiet now" if quiet else ""
            return CheckResult(
                Severity.INFO,
                f"{len(patterns)} error pattern(s) in the last {hours} hours, none recurring "
                f"({rule.describe()}){gone}; the most frequent: {top.text!r} ({top.count}).",
                evidence,
            )
        top = recurring[0]
        severity = Severity.CRITICAL if top.count >= self.CRITICAL_COUNT else Severity.WARNING
        return CheckResult(
            severity,
            f"{len(recurring)} error pattern(s) recur ({rule.describe()}); the most frequent, "
            f"{top.count} times in {hours} hours: {top.text!r}.",
            evidence,
            "Repair opens a fix task for each of the top recurring patterns (at most three "
            "an hour, one per pattern).",
        )
