"""Check 1: can we reach the database, and how long does a round trip take?"""

from __future__ import annotations

import time

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from selfheal.checks.base import Check, CheckContext, CheckResult
from selfheal.models import Severity


class DatabaseCheck(Check):
    name = "database"
    title = "Database connectivity"

    SLOW_MS = 50.0
    VERY_SLOW_MS = 500.0
    ROUND_TRIPS = 3

    def __init__(self, *, connection: BaseDatabaseWrapper | None = None, **thresholds: float):
        super().__init__(**thresholds)
        self.connection = connection or connections["default"]

    def run(self, context: CheckContext) -> CheckResult:
        vendor = self.connection.vendor
        latencies: list[float] = []
        try:
            with self.connection.cursor() as cursor:
                for _ in range(self.ROUND_TRIPS):
                    started = time.perf_counter()
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
                    latencies.append((time.perf_counter() - started) * 1000)
        except DatabaseError as exc:
            return CheckResult(
                Severity.CRITICAL,
                f"The {vendor} database does not answer: {exc}",
                {"vendor": vendor, "error": str(exc)[:500]},
                "Check that the database server runs and that DATABASE_URL points at it.",
            )
        # The first trip may pay for opening the connection; the best of the rest is the
        # network and server latency.
        latency = min(latencies)
        evidence = {
            "vendor": vendor,
            "latency_ms": round(latency, 3),
            "first_round_trip_ms": round(latencies[0], 3),
        }
        if latency >= self.VERY_SLOW_MS:
            return CheckResult(
                Severity.CRITICAL,
                f"A database round trip takes {latency:.0f} ms.",
                evidence,
                "The database is overloaded or far away: look at its load and the network.",
            )
        if latency >= self.SLOW_MS:
            return CheckResult(
                Severity.WARNING,
                f"A database round trip takes {latency:.1f} ms, slower than {self.SLOW_MS:g} ms.",
                evidence,
                "Look at the database server's load and the network between it and this host.",
            )
        return CheckResult(
            Severity.OK, f"The {vendor} database answers in {latency:.2f} ms.", evidence
        )
