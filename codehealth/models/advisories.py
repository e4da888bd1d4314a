"""Known vulnerabilities imported from an OSV snapshot (``manage.py import_osv``).

An advisory is an OSV record; each package it affects is a row indexed by ecosystem and
normalised name, its ranges kept as OSV gives them and matched at scan time. Every import
is recorded, so a figure built on the data can say where it came from and how old it is.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OsvImportQuerySet(models.QuerySet["OsvImport"]):
    def latest_done(self) -> OsvImport | None:
        return self.filter(finished_at__isnull=False).order_by("-finished_at", "-id").first()


class OsvImport(models.Model):
    """One run of ``import_osv``: what it read, when, and how much."""

    source = models.CharField(max_length=500, help_text="The file or folder it read.")
    ecosystems = models.JSONField(default=list, blank=True)
    records = models.PositiveIntegerField(default=0)
    newest_modified = models.DateTimeField(
        null=True, blank=True, help_text="The latest `modified` among its records."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OsvImportQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"OSV import #{self.pk} of {self.source} ({self.records} records)"


class Advisory(models.Model):
    """One OSV record (PYSEC-..., GHSA-..., ...) with its aliases."""

    osv_id = models.CharField(max_length=100, unique=True)
    aliases = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    severity = models.CharField(max_length=16, blank=True, help_text="Normalised, or blank.")
    modified = models.DateTimeField(null=True, blank=True)
    withdrawn = models.DateTimeField(null=True, blank=True)
    imported_in = models.ForeignKey(
        OsvImport, null=True, on_delete=models.SET_NULL, related_name="advisories"
    )

    class Meta:
        ordering = ["osv_id"]
        verbose_name_plural = "advisories"

    def __str__(self) -> str:
        return self.osv_id


class AffectedPackage(models.Model):
    """A package an advisory affects: OSV's ``ranges`` and ``versions`` as given."""

    advisory = models.ForeignKey(Advisory, on_delete=models.CASCADE, related_name="affected")
    ecosystem = models.CharField(max_length=20)
    name = models.CharField(max_length=300, help_text="Normalised (PEP 503 for PyPI).")
    ranges = models.JSONField(default=list, blank=True)
    versions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["ecosystem", "name", "id"]
        indexes = [models.Index(fields=["ecosystem", "name"], name="affected_package_idx")]

    def __str__(self) -> str:
        return f"{self.ecosystem}:{self.name} ({self.advisory_id})"
