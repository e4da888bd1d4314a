"""The operator's console for routing: policies are edited here; the ledger is read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from routing.models import (
    ModelCall,
    ModelHealth,
    ModelPrice,
    Policy,
    ToolPermission,
)
from routing.money import format_money
from routing.services import health

# The admin and form classes are generic only to the type checker, not at run time.
if TYPE_CHECKING:
    PolicyFormBase = forms.ModelForm[Policy]
    PolicyAdminBase = admin.ModelAdmin[Policy]
    ModelPriceAdminBase = admin.ModelAdmin[ModelPrice]
    AnyAdminBase = admin.ModelAdmin[Any]
else:
    PolicyFormBase = forms.ModelForm
    PolicyAdminBase = ModelPriceAdminBase = AnyAdminBase = admin.ModelAdmin


class PolicyForm(PolicyFormBase):
    fallback_models = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 50}),
        help_text="One model id per line, tried in this order.",
    )
    tool_permissions = forms.MultipleChoiceField(
        required=False,
        choices=ToolPermission.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Permission levels of the tools sessions in this mode may call.",
    )

    class Meta:
        model = Policy
        fields = [
            "mode",
            "model",
            "fallback_models",
            "max_price_per_1k",
            "max_iterations",
            "max_seconds",
            "max_retries",
            "max_output_tokens",
            "session_ceiling",
            "daily_ceiling",
            "tool_permissions",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["fallback_models"] = "\n".join(self.instance.fallback_models or [])

    def clean_fallback_models(self) -> list[str]:
        lines = str(self.cleaned_data.get("fallback_models") or "").splitlines()
        return [line.strip() for line in lines if line.strip()]


@admin.register(Policy)
class PolicyAdmin(PolicyAdminBase):
    form = PolicyForm
    list_display = [
        "mode",
        "model",
        "fallbacks",
        "price_cap",
        "max_iterations",
        "max_seconds",
        "max_retries",
        "session_ceiling_shown",
        "daily_ceiling_shown",
        "permissions",
        "updated_at",
    ]
    ordering = ["mode"]

    @admin.display(description="Cap / 1k tokens", ordering="max_price_per_1k")
    def price_cap(self, policy: Policy) -> str:
        return format_money(policy.max_price_per_1k)

    @admin.display(description="Session ceiling", ordering="session_ceiling")
    def session_ceiling_shown(self, policy: Policy) -> str:
        return format_money(policy.session_ceiling)

    @admin.display(description="Daily ceiling", ordering="daily_ceiling")
    def daily_ceiling_shown(self, policy: Policy) -> str:
        return format_money(policy.daily_ceiling)

    @admin.display(description="Fallbacks")
    def fallbacks(self, policy: Policy) -> str:
        return " → ".join(policy.fallback_models or []) or "—"

    @admin.display(description="Tools")
    def permissions(self, policy: Policy) -> str:
        return ", ".join(policy.tool_permissions or []) or "none"


@admin.register(ModelPrice)
class ModelPriceAdmin(ModelPriceAdminBase):
    list_display = [
        "model_id",
        "name",
        "context_length",
        "prompt_per_million",
        "completion_per_million",
        "variable_pricing",
        "supports_tools",
        "source",
        "updated_at",
    ]
    list_filter = ["source", "variable_pricing"]
    search_fields = ["model_id", "name"]

    @admin.display(description="Prompt $/M")
    def prompt_per_million(self, price: ModelPrice) -> str:
        return (
            "variable"
            if price.variable_pricing
            else f"{(price.prompt_price * 10**6).normalize():f}"
        )

    @admin.display(description="Completion $/M")
    def completion_per_million(self, price: ModelPrice) -> str:
        if price.variable_pricing:
            return "variable"
        return f"{(price.completion_price * 10**6).normalize():f}"

    @admin.display(boolean=True, description="Tools")
    def supports_tools(self, price: ModelPrice) -> bool:
        return price.supports_tools


class ReadOnlyAdmin(AnyAdminBase):
    """Rows the machine writes: shown, filtered, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelCall)
class ModelCallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "mode",
        "session_ref",
        "user",
        "api_token_prefix",
        "provider",
        "model",
        "prompt_tokens",
        "completion_tokens",
        "cost_shown",
        "cost_source",
        "latency_ms",
        "outcome",
    ]
    list_select_related = ["user"]
    list_filter = [
        "mode",
        "provider",
        "outcome",
        "cost_source",
        "source",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "=request_id",
        "=api_token_prefix",
        "session_ref",
        "model",
        "requested_model",
        "error",
        "generation_id",
    ]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a COUNT(*) per page is slow on a big ledger

    @admin.display(description="Cost", ordering="cost")
    def cost_shown(self, call: ModelCall) -> str:
        shown = format_money(call.cost)
        return f"{shown} (overrun {format_money(call.overrun)})" if call.overrun else shown

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelHealth)
class ModelHealthAdmin(ReadOnlyAdmin):
    list_display = [
        "model_id",
        "breaker_state",
        "consecutive_failures",
        "cooldown_until",
        "probe_until",
        "last_failure_at",
        "last_success_at",
    ]
    search_fields = ["model_id"]
    actions = ["reset_health"]

    def has_reset_permission(self, request: HttpRequest) -> bool:
        # Ending a cool-down sends calls back to a failing model: a policy decision.
        return request.user.has_perm("routing.change_policy")

    @admin.display(description="Circuit")
    def breaker_state(self, row: ModelHealth) -> str:
        return str(row.breaker(timezone.now()).label)

    @admin.action(
        permissions=["reset"],
        description="Close the circuit (forget failures, end the cool-down now)",
    )
    def reset_health(self, request: HttpRequest, queryset: Any) -> None:
        count = health.forget_failures(model_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} model(s) reset.")
