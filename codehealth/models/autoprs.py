"""Auto-PRs: a change on a branch of its own, waiting for a person to merge it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from codehealth.models.repositories import Repository


class AutoPRKind(models.TextChoices):
    RUFF_FIX = "ruff_fix", "ruff safe fix"
    VERSION_BUMP = "version_bump", "Version bump"
    PATCH = "patch", "Proposed patch"


class AutoPRState(models.TextChoices):
    QUEUED = "queued", "Queued"
    BUILDING = "building", "Building"
    PROPOSED = "proposed", "Waiting for a person"
    MERGED = "merged", "Merged"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


OPEN_AUTOPR_STATES = (AutoPRState.QUEUED, AutoPRState.BUILDING, AutoPRState.PROPOSED)


class AutoPRQuerySet(models.QuerySet["AutoPR"]):
    def open(self) -> AutoPRQuerySet:
        return self.filter(state__in=OPEN_AUTOPR_STATES)


class AutoPR(models.Model):
    """One change (a rule's safe fixes, a version bump, or a patch an agent proposed) as one
    commit on ``juggernaut/fix/<key>``. Its engine task (`codehealth.autopr`) builds it,
    then waits for a person's approval: the task's history is the auto-PR's."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="autoprs")
    kind = models.CharField(max_length=16, choices=AutoPRKind.choices)
    key = models.CharField(max_length=200, help_text="The rule, package or patch name.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    target_branch = models.CharField(max_length=200)
    branch = models.CharField(max_length=250, blank=True)
    base_commit = models.CharField(max_length=64)
    head_commit = models.CharField(max_length=64, blank=True)
    diff = models.TextField(blank=True)
    diff_sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(
        max_length=16, choices=AutoPRState.choices, default=AutoPRState.QUEUED, db_index=True
    )
    tests_passed = models.BooleanField(null=True, blank=True)
    test_output = models.TextField(blank=True, help_text="The end of the test command's output.")
    error = models.TextField(blank=True)
    task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.CharField(max_length=150)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    merged_commit = models.CharField(max_length=64, blank=True)
    # For a GitHub repository: the draft pull request.
    external_number = models.PositiveIntegerField(null=True, blank=True)
    external_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutoPRQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "auto-PR"
        permissions = [("merge_autopr", "Can merge auto-PRs into their target branch")]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "kind", "key"],
                condition=Q(state__in=["queued", "building", "proposed"]),
                name="autopr_one_open_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"auto-PR #{self.pk} {self.title}"

    @property
    def diff_lines(self) -> int:
        return self.diff.count("\n")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_AUTOPR_STATES
