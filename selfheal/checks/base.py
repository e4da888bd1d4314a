"""The shape every check shares, and the registry the diagnosis runs.

A check reads; it never changes a row. Its thresholds are class constants, which a
constructor argument may override (a test, or an operator's stricter diagnosis).

Adding a check: subclass `Check` in a module of this package, give it a unique `name`,
a `title`, thresholds as constants and a `run` returning a `CheckResult`, then list it in
`selfheal.checks.DEFAULT_CHECKS` (or `register_check` it from another app's ``ready()``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.utils import timezone

from selfheal.models import Severity

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    suggestion: str = ""


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    title: str
    result: CheckResult
    duration_ms: float

    @property
    def severity(self) -> Severity:
        return self.result.severity


@dataclass(frozen=True)
class CheckContext:
    now: datetime

    @classmethod
    def current(cls) -> CheckContext:
        return cls(now=timezone.now())


class Check:
    name: ClassVar[str]
    title: ClassVar[str]
    # Evidence counts of problems: a repair that lowers them improved things even when the
    # severity stays the same.
    LOWER_IS_BETTER: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **thresholds: Any) -> None:
        for key, value in thresholds.items():
            if not key.isupper() or not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} has no threshold {key!r}")
            setattr(self, key, value)

    def run(self, context: CheckContext) -> CheckResult:
        raise NotImplementedError

    def measure(self, context: CheckContext) -> CheckOutcome:
        started = time.perf_counter()
        try:
            result = self.run(context)
        except Exception as exc:
            # The diagnosis is what an operator runs when things are broken: one check that
            # cannot run is itself a finding, and the other checks still report.
            logger.exception("check %s crashed", self.name)
            result = CheckResult(
                Severity.CRITICAL,
                f"The check could not run: {type(exc).__name__}: {exc}",
                {"error": type(exc).__name__},
                "Read the server log for the traceback.",
            )
        duration_ms = (time.perf_counter() - started) * 1000
        return CheckOutcome(self.name, self.title, result, round(duration_ms, 3))


_registry: dict[str, type[Check]] = {}


def register_check(check: type[Check]) -> type[Check]:
    existing = _registry.get(check.name)
    if existing is not None and existing is not check:
        raise ValueError(f"a check named {check.name!r} is already registered")
    _registry[check.name] = check
    return check


def registered_checks() -> list[type[Check]]:
    return list(_registry.values())


def get_check(name: str) -> type[Check] | None:
    return _registry.get(name)


def check_names() -> list[str]:
    return list(_registry)


def ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
