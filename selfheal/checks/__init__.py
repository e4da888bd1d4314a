"""The diagnosis' checks. Each reads and judges one part of the system; none changes a row."""

from selfheal.checks.base import (
    Check,
    CheckContext,
    CheckOutcome,
    CheckResult,
    check_names,
    register_check,
    registered_checks,
)
from selfheal.checks.completion import CompletionRateCheck
from selfheal.checks.database import DatabaseCheck
from selfheal.checks.errors import ErrorPatternsCheck
from selfheal.checks.queue import QueueCheck, releasable_blocked
from selfheal.checks.resources import ResourcesCheck
from selfheal.checks.workers import WorkersCheck

DEFAULT_CHECKS: tuple[type[Check], ...] = (
    DatabaseCheck,
    WorkersCheck,
    QueueCheck,
    ErrorPatternsCheck,
    CompletionRateCheck,
    ResourcesCheck,
)


def register_default_checks() -> None:
    for check in DEFAULT_CHECKS:
        register_check(check)


__all__ = [
    "DEFAULT_CHECKS",
    "Check",
    "CheckContext",
    "CheckOutcome",
    "CheckResult",
    "CompletionRateCheck",
    "DatabaseCheck",
    "ErrorPatternsCheck",
    "QueueCheck",
    "ResourcesCheck",
    "WorkersCheck",
    "check_names",
    "register_check",
    "register_default_checks",
    "registered_checks",
    "releasable_blocked",
]
