"""The incidents admin: read the rows and their history; changes go through the services
(the API and the admin actions), so the history has no hole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from engine.services.errors import EngineError
from incidents.models import Incident, IncidentEvent
from incidents.services import mark_applied

# The admin classes are generic only to the type checker; at run time they take no parameters.
if TYPE_CHECKING:
    EventInlineBase = admin.TabularInline[IncidentEvent, Incident]
    IncidentAdminBase = admin.ModelAdmin[Incident]
else:
    EventInlineBase = admin.TabularInline
    IncidentAdminBase = admin.ModelAdmin


class IncidentEventInline(EventInlineBase):
    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(IncidentAdminBase):
    list_display = ("id", "title", "state", "source", "created_at", "updated_at", "demo")
    list_filter = ("state", "source", "offline", "demo")
    search_fields = ("title", "triage")
    inlines = (IncidentEventInline,)
    actions = ("mark_fix_applied",)
    readonly_fields = (
        "state",
        "source",
        "created_at",
        "updated_at",
        "investigation",
        "fix",
        "triage",
        "triage_data",
        "offline",
        "waiting_reason",
        "applied_at",
        "applied_note",
        "verify_until",
        "verified_at",
        "dismissed_reason",
        "regressions",
        "demo",
    )
    raw_id_fields = ("fingerprints", "alerts", "tasks", "sessions", "autoprs")

    @admin.action(description="Mark the fix applied (the verifier watches from now)")
    def mark_fix_applied(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset:
            try:
                mark_applied(incident_id=incident.pk, user=request.user, note="marked in the admin")  # type: ignore[arg-type]
            except EngineError as exc:
                self.message_user(request, f"#{incident.pk}: {exc}", messages.WARNING)
