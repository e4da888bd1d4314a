"""Repositories that code health reads: a local git checkout, or (later) a GitHub repository."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

GITHUB_NAME = RegexValidator(
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", "owner/name, as GitHub spells it."
)
COMMIT = RegexValidator(r"^([0-9a-f]{40}|[0-9a-f]{64})$", "A full commit id (40 hex digits).")


class RepositoryKind(models.TextChoices):
    LOCAL = "local", "Local git checkout"
    GITHUB = "github", "GitHub"


class RepositoryQuerySet(models.QuerySet["Repository"]):
    def enabled(self) -> RepositoryQuerySet:
        return self.filter(enabled=True)


class Repository(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=RepositoryKind.choices)
    path = models.CharField(
        max_length=500, blank=True, help_text="Local checkout: the directory git works in."
    )
    github_name = models.CharField(
        max_length=200, blank=True, validators=[GITHUB_NAME], help_text="GitHub: owner/name."
    )
    default_branch = models.CharField(max_length=200, default="main")
    baseline_commit = models.CharField(
        max_length=64,
        blank=True,
        validators=[COMMIT],
        help_text="Code after this commit is new code (the gate). Blank: the first scan's.",
    )
    test_command = models.CharField(
        max_length=500,
        blank=True,
        help_text="Run (no shell) in a patched tree before a fix is proposed; {python} is "
        "this server's interpreter. Blank: fixes cannot be proposed automatically.",
    )
    test_timeout_seconds = models.PositiveIntegerField(default=1800)
    lint_extend_select = models.JSONField(
        default=list,
        blank=True,
        help_text='ruff rule codes added to the repository\'s own selection, e.g. ["C90"].',
    )
    scan_environment = models.JSONField(
        default=dict,
        blank=True,
        help_text="Variables the scanners and the test command see (not secrets): "
        "they run with a clean environment, never the server's.",
    )
    # Sent to GitHub, so stored as given; never rendered back by the admin or the API.
    token = models.CharField(max_length=500, blank=True, help_text="Write-only.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name

    @property
    def has_token(self) -> bool:
        return bool(self.token)

    @property
    def location(self) -> str:
        return self.path if self.kind == RepositoryKind.LOCAL else self.github_name

    def clean(self) -> None:
        if self.kind == RepositoryKind.LOCAL and not self.path:
            raise ValidationError({"path": "A local repository needs the path of its checkout."})
        if self.kind == RepositoryKind.GITHUB and not self.github_name:
            raise ValidationError({"github_name": "A GitHub repository needs owner/name."})
        rules = self.lint_extend_select
        if not isinstance(rules, list) or not all(
            isinstance(r, str) and r.isalnum() for r in rules
        ):
            raise ValidationError({"lint_extend_select": "A list of ruff rule codes."})
        env = self.scan_environment
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValidationError({"scan_environment": "An object of names to strings."})
