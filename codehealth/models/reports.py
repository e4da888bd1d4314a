"""The weekly report of a repository: what changed in its code's health in one week."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from codehealth.models.repositories import Repository


def empty_sections() -> dict[str, Any]:
    return {}


class WeeklyReportQuerySet(models.QuerySet["WeeklyReport"]):
    def previous(self, report: WeeklyReport) -> WeeklyReport | None:
        return (
            self.filter(repository_id=report.repository_id, week_start__lt=report.week_start)
            .order_by("-week_start")
            .first()
        )


class WeeklyReport(models.Model):
    """One repository's week, Monday 00:00 UTC to the next Monday. The figures the list and
    the trend need are columns; the sections (by kind and severity, top rules, stale items,
    contract drift, dependencies, auto-PRs, scanner failures, expiring acceptances) are in
    ``sections``, as `codehealth.services.weekly` builds them. Written again, it is replaced."""

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="weekly_reports"
    )
    week_start = models.DateField(help_text="The Monday (UTC) the week starts on.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    scans = models.PositiveIntegerField(default=0, help_text="Scans finished in the week.")
    new_total = models.PositiveIntegerField(default=0)
    fixed_total = models.PositiveIntegerField(default=0)
    reopened_total = models.PositiveIntegerField(default=0)
    open_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Open at the week's last scan; blank: never scanned."
    )
    open_change = models.IntegerField(
        null=True, blank=True, help_text="Against the previous week's end; blank: no figure."
    )
    autoprs_opened = models.PositiveIntegerField(default=0)
    autoprs_merged = models.PositiveIntegerField(default=0)
    autoprs_failed = models.PositiveIntegerField(default=0)
    sections = models.JSONField(default=empty_sections, blank=True)
    generated_at = models.DateTimeField(default=timezone.now)
    generated_by = models.CharField(max_length=150)

    objects = WeeklyReportQuerySet.as_manager()

    class Meta:
        ordering = ["-week_start", "repository__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "week_start"], name="weeklyreport_repo_week_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository} week of {self.week_start:%Y-%m-%d}"

    @property
    def is_complete(self) -> bool:
        """Written after its week ended; otherwise it is the week so far."""
        return self.generated_at >= self.ends_at

    @property
    def last_day(self) -> date:
        """The week's Sunday (UTC): its end, inclusive."""
        return (self.ends_at - timedelta(days=1)).astimezone(UTC).date()

    @property
    def markdown_filename(self) -> str:
        return f"{self.repository.name}-week-{self.week_start:%Y-%m-%d}.md"
