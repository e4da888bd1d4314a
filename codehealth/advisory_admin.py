"""The admin of the imported OSV data: read-only, searchable by id, alias and package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from codehealth.models import Advisory, AffectedPackage, OsvImport
from engine.admin import ReadOnlyAdminMixin

if TYPE_CHECKING:
    OsvImportAdminBase = admin.ModelAdmin[OsvImport]
    AdvisoryAdminBase = admin.ModelAdmin[Advisory]
    AffectedAdminBase = admin.ModelAdmin[AffectedPackage]
    AffectedInlineBase = admin.TabularInline[AffectedPackage, Advisory]
else:
    OsvImportAdminBase = AdvisoryAdminBase = AffectedAdminBase = admin.ModelAdmin
    AffectedInlineBase = admin.TabularInline


@admin.register(OsvImport)
class OsvImportAdmin(ReadOnlyAdminMixin, OsvImportAdminBase):
    list_display = ("id", "source", "records", "ecosystems", "newest_modified", "finished_at")
    search_fields = ("source",)


class AffectedInline(ReadOnlyAdminMixin, AffectedInlineBase):
    model = AffectedPackage
    fields = ("ecosystem", "name", "ranges", "versions")
    extra = 0


@admin.register(Advisory)
class AdvisoryAdmin(ReadOnlyAdminMixin, AdvisoryAdminBase):
    list_display = ("osv_id", "severity", "summary", "modified", "withdrawn")
    list_filter = ("severity", "affected__ecosystem")
    search_fields = ("osv_id", "aliases", "summary", "affected__name")
    inlines = (AffectedInline,)
    show_full_result_count = False


@admin.register(AffectedPackage)
class AffectedPackageAdmin(ReadOnlyAdminMixin, AffectedAdminBase):
    list_display = ("ecosystem", "name", "advisory")
    list_filter = ("ecosystem",)
    search_fields = ("name", "advisory__osv_id")
    list_select_related = ("advisory",)
    show_full_result_count = False
