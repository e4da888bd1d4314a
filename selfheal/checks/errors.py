"""Check 4: which errors keep coming back?"""

from __future__ import annotations

from datetime import timedelta

from selfheal.checks.base import Check, CheckContext, CheckResult
from selfheal.error_patterns import error_pattern_sources, top_error_patterns
from selfheal.models import Severity


class ErrorPatternsCheck(Check):
    name = "error_patterns"
    title = "Recent error patterns"

    WINDOW_HOURS = 24
    PATTERNS_SHOWN = 10
    # One pattern this often in the window is a fault, not bad luck.
    WARNING_COUNT = 10
    CRITICAL_COUNT = 500

    def run(self, context: CheckContext) -> CheckResult:
        since = context.now - timedelta(hours=self.WINDOW_HOURS)
        patterns = top_error_patterns(since=since, limit=self.PATTERNS_SHOWN)
        evidence = {
            "window_hours": self.WINDOW_HOURS,
            "sources": [source.name for source in error_pattern_sources()],
            "patterns": [pattern.as_dict() for pattern in patterns],
            "errors_in_top_patterns": sum(pattern.count for pattern in patterns),
        }
        if not patterns:
            return CheckResult(
                Severity.OK, f"No errors in the last {self.WINDOW_HOURS} hours.", evidence
            )
        top = patterns[0]
        recurring = [p for p in patterns if p.count >= self.WARNING_COUNT]
        if not recurring:
            return CheckResult(
                Severity.INFO,
                f"{len(patterns)} error pattern(s) in the last {self.WINDOW_HOURS} hours, "
                f"none recurring; the most frequent: {top.text!r} ({top.count}).",
                evidence,
            )
        severity = Severity.CRITICAL if top.count >= self.CRITICAL_COUNT else Severity.WARNING
        return CheckResult(
            severity,
            f"{len(recurring)} error pattern(s) recur; the most frequent, {top.count} times in "
            f"{self.WINDOW_HOURS} hours: {top.text!r}.",
            evidence,
            "Repair opens a fix task for each of the top patterns (at most three, one per "
            "pattern).",
        )
