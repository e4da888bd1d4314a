"""Routing's rows: a policy per mode, model prices, model health, the cost ledger, budgets.

Money is `Decimal`: per-token prices and amounts of money keep 12 places (routing/money.py).
Tokens are integers; times are UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from routing.money import MONEY_DIGITS, MONEY_PLACES, PRICE_DIGITS, PRICE_PLACES, format_money

ZERO = Decimal("0")


class Mode(models.TextChoices):
    """The modes a session runs in; each has exactly one policy. Other apps import this."""

    NORMAL = "normal", "Normal"
    DEEP_RESEARCH = "deep_research", "Deep research"
    CODE = "code", "Code"
    OPS = "ops", "Ops"


# For membership tests on every call: Mode.values builds a new list each time it is read.
MODE_NAMES = frozenset(Mode.values)


class ToolPermission(models.TextChoices):
    """What a mode's sessions may do with tools, from harmless to needs-a-human."""

    READ = "read", "Read"
    WRITE = "write", "Write"
    DANGEROUS = "dangerous", "Dangerous"


class Outcome(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    REFUSED = "refused", "Refused (budget)"


class CostSource(models.TextChoices):
    PROVIDER = "provider", "Reported by the provider"
    COMPUTED = "computed", "Computed from the price table"
    NONE = "none", "No cost"


def money_field(**kwargs: Any) -> models.DecimalField[Any, Any]:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


# A ceiling, a limit or a price is never below zero: the admin, the API and the pages refuse
# one through the model's validators (a ledger amount may be, so money_field does not add it).
NOT_NEGATIVE = MinValueValidator(Decimal("0"))
AT_LEAST_ONE = MinValueValidator(1)


def price_field(**kwargs: Any) -> models.DecimalField[Any, Any]:
    return models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


class Policy(models.Model):
    """How a mode may use models and run agents: which models, at what price, how much in
    total, with which tools, and how long and how many retries an agent run gets."""

    mode = models.CharField(max_length=20, choices=Mode.choices, unique=True)
    model = models.CharField(max_length=200, help_text="Preferred model, e.g. openai/gpt-4o-mini.")
    fallback_models = models.JSONField(
        default=list, blank=True, help_text="Tried in this order when the preferred one cannot."
    )
    max_price_per_1k = price_field(
        validators=[NOT_NEGATIVE],
        help_text="Most a model may charge per 1,000 tokens, prompt or completion (USD).",
    )
    max_iterations = models.PositiveIntegerField(
        validators=[AT_LEAST_ONE], help_text="Agent loop turns per request."
    )
    max_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(1)],
        help_text="Wall time of one agent run, in seconds (paused time does not count).",
    )
    max_retries = models.PositiveIntegerField(
        default=3,
        help_text="Failed calls an agent run may retry: model calls, and tool calls repeated "
        "with the same arguments.",
    )
    max_output_tokens = models.PositiveIntegerField(
        default=1024,
        # 0 would estimate every call at its prompt alone, and ask the provider for nothing.
        validators=[MinValueValidator(1)],
        help_text="Completion tokens asked for per call; bounds the cost estimate.",
    )
    session_ceiling = money_field(
        validators=[NOT_NEGATIVE], help_text="Most one session may spend (USD)."
    )
    daily_ceiling = money_field(
        validators=[NOT_NEGATIVE], help_text="Most this mode may spend per UTC day (USD)."
    )
    tool_permissions = models.JSONField(
        default=list, blank=True, help_text="Permission levels of the tools this mode may call."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["mode"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"{self.get_mode_display()}: {self.model}"

    @property
    def models_in_order(self) -> list[str]:
        seen: list[str] = []
        for name in [self.model, *(self.fallback_models or [])]:
            if name and name not in seen:
                seen.append(name)
        return seen

    @property
    def max_price_per_token(self) -> Decimal:
        return self.max_price_per_1k / 1000

    def allows_tool(self, permission: str) -> bool:
        return permission in (self.tool_permissions or [])

    def clean(self) -> None:
        errors: dict[str, str] = {}
        fallbacks = self.fallback_models
        if not isinstance(fallbacks, list) or not all(
            isinstance(name, str) and name.strip() for name in fallbacks
        ):
            errors["fallback_models"] = 'A list of model ids, e.g. ["openai/gpt-4o"].'
        permissions = self.tool_permissions
        valid = set(ToolPermission.values)
        if not isinstance(permissions, list) or not set(permissions) <= valid:
            errors["tool_permissions"] = f"A list drawn from {sorted(valid)}."
        if self.max_price_per_1k is not None and self.max_price_per_1k < 0:
            errors["max_price_per_1k"] = "Cannot be negative."
        if errors:
            raise ValidationError(errors)


class ModelPrice(models.Model):
    """A model as OpenRouter lists it: prices per token, context window, parameters."""

    model_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True)
    context_length = models.PositiveIntegerField(default=0, help_text="0 when unknown.")
    prompt_price = price_field(
        default=ZERO, validators=[NOT_NEGATIVE], help_text="USD per prompt token."
    )
    completion_price = price_field(
        default=ZERO, validators=[NOT_NEGATIVE], help_text="USD per completion token."
    )
    variable_pricing = models.BooleanField(
        default=False, help_text="A router (openrouter/auto): the price depends on the model used."
    )
    supported_parameters = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=20, default="snapshot", help_text="snapshot or api")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model_id"]

    def __str__(self) -> str:
        return self.model_id

    @property
    def supports_tools(self) -> bool:
        return "tools" in (self.supported_parameters or [])

    @property
    def highest_price_per_1k(self) -> Decimal:
        return max(self.prompt_price, self.completion_price) * 1000


class Breaker(models.TextChoices):
    """A model's circuit breaker, as routing/services/health.py moves it."""

    CLOSED = "closed", "Closed (in use)"
    OPEN = "open", "Open (skipped while it cools down)"
    HALF_OPEN = "half_open", "Half-open (one call may probe it)"


class ModelHealth(models.Model):
    """A model's circuit breaker: closed while it answers; open (skipped) for a cool-down
    after failures in a row; then half-open, where one call probes it and closes it again or
    opens it for another cool-down. Only failures that say something about the model count."""

    model_id = models.CharField(max_length=200, primary_key=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0,
        help_text="Failures in a row while closed; back to 0 on a success and when it opens.",
    )
    last_error = models.TextField(blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    cooldown_until = models.DateTimeField(
        null=True, blank=True, help_text="Set while open: until when calls skip it."
    )
    probe_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Half-open: a call is probing it until then (a lease, should that call die).",
    )

    class Meta:
        verbose_name_plural = "model health"

    def __str__(self) -> str:
        return f"{self.model_id}: {self.breaker(timezone.now()).label}"

    def breaker(self, now: datetime) -> Breaker:
        if self.cooldown_until is None:
            return Breaker.CLOSED
        return Breaker.OPEN if self.cooldown_until > now else Breaker.HALF_OPEN

    def probing(self, now: datetime) -> bool:
        return self.probe_until is not None and self.probe_until > now


class ModelCallQuerySet(models.QuerySet["ModelCall"]):
    def on_day(self, day: date) -> ModelCallQuerySet:
        start, end = day_bounds(day)
        return self.filter(created_at__gte=start, created_at__lt=end)

    def since(self, moment: datetime) -> ModelCallQuerySet:
        return self.filter(created_at__gte=moment)

    def total_cost(self) -> Decimal:
        return self.aggregate(total=Sum("cost"))["total"] or ZERO

    def spend_by_mode(self) -> dict[str, Decimal]:
        rows = self.order_by().values("mode").annotate(cost=Sum("cost"))
        return {row["mode"]: row["cost"] or ZERO for row in rows}

    def spend_by_mode_and_day(self, *, since: date) -> list[dict[str, Any]]:
        start, _ = day_bounds(since)
        rows = (
            self.filter(created_at__gte=start)
            .annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day", "mode")
            .annotate(cost=Sum("cost"), calls=Count("id"))
            .order_by("day", "mode")
        )
        return [dict(row) for row in rows]

    def overrun_by_mode(self) -> dict[str, Decimal]:
        rows = self.order_by().filter(overrun__gt=0).values("mode").annotate(total=Sum("overrun"))
        return {row["mode"]: row["total"] or ZERO for row in rows}

    def spend_by_user(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """Who spent what: each user's calls (None: calls no user made, such as jobs)."""
        rows = (
            self.order_by()
            .values("user_id", "user__username")
            .annotate(cost=Sum("cost"), calls=Count("id"), tokens=Sum("total_tokens"))
            .order_by("-cost", "user_id")[:limit]
        )
        return [dict(row) for row in rows]

    def most_expensive_sessions(self, *, limit: int = 10) -> list[dict[str, Any]]:
        rows = (
            self.exclude(session_ref="")
            .values("session_ref")
            .annotate(cost=Sum("cost"), calls=Count("id"), tokens=Sum("total_tokens"))
            .order_by("-cost", "session_ref")[:limit]
        )
        return [dict(row) for row in rows]

    def recent(self, *, limit: int = 50) -> ModelCallQuerySet:
        return self.order_by("-created_at", "-id")[:limit]


class ModelCall(models.Model):
    """The ledger: one row per model call (and per refusal), with what it really cost."""

    created_at = models.DateTimeField(default=timezone.now, help_text="When the call started.")
    mode = models.CharField(max_length=20, choices=Mode.choices)
    session_ref = models.CharField(max_length=200, blank=True, help_text="e.g. chat:42")
    source = models.CharField(max_length=50, blank=True, help_text="Who asked: chat, gateway…")
    provider = models.CharField(max_length=50, blank=True)
    requested_model = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True, help_text="The model that answered.")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    total_tokens = models.PositiveIntegerField(default=0)
    cost = money_field(default=ZERO)
    cost_source = models.CharField(
        max_length=20, choices=CostSource.choices, default=CostSource.NONE
    )
    estimated_cost = money_field(default=ZERO, help_text="What the budget check reserved.")
    latency_ms = models.PositiveIntegerField(default=0)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    stream = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=1, help_text="HTTP attempts incl. retries.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.OK)
    error_code = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    overrun = money_field(
        default=ZERO,
        db_default=ZERO,  # so that a process still on the code before it can write rows
        help_text="What the provider reported above the reservation (its worst case); "
        "the only way spend passes a ceiling.",
    )
    generation_id = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(
        max_length=64, blank=True, help_text="The id the caller was given (gateway: chatcmpl-…)."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        # A row settled late (routing/services/outbox.py) may name a user deleted meanwhile;
        # and no index: the ledger is written on every call, grouped by user rarely.
        db_constraint=False,
        db_index=False,
        help_text="Who made the call: the gateway's token owner, a chat session's owner.",
    )
    api_token_prefix = models.CharField(
        max_length=12,
        blank=True,
        default="",
        db_default="",
        help_text="The API token the gateway call came with.",
    )
    settlement_key = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Makes a settlement retried after a lost connection land once.",
    )

    objects = ModelCallQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["mode", "created_at"], name="modelcall_mode_day_idx"),
            models.Index(
                fields=["session_ref", "created_at"],
                condition=~Q(session_ref=""),
                name="modelcall_session_idx",
            ),
            models.Index(fields=["created_at", "id"], name="modelcall_created_idx"),
        ]

    def __str__(self) -> str:
        model = self.model or self.requested_model
        return f"{self.mode} {model} {format_money(self.cost)} ({self.outcome})"


class BudgetCounter(models.Model):
    """What one scope (a mode's UTC day, or a session) has spent, kept beside the ledger.

    Written in the same transaction as every ledger row that costs money, so it always equals
    the ledger's sum; budget checks lock this row (FOR UPDATE) and read it instead of summing
    a day of ledger rows on every call.
    """

    key = models.CharField(max_length=250, primary_key=True, help_text="mode:X:DATE or session:X")
    spent = money_field(default=ZERO)

    def __str__(self) -> str:
        return f"{self.key}: {format_money(self.spent)}"


class BudgetReservationQuerySet(models.QuerySet["BudgetReservation"]):
    def active(self, now: datetime) -> BudgetReservationQuerySet:
        return self.filter(expires_at__gt=now)


class BudgetReservation(models.Model):
    """The estimated cost of a call in flight, counted against ceilings until it settles.

    It expires on its own, so a process that dies mid-call cannot hold budget forever.
    """

    mode = models.CharField(max_length=20, choices=Mode.choices)
    day = models.DateField()
    session_ref = models.CharField(max_length=200, blank=True)
    amount = money_field()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    objects = BudgetReservationQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["mode", "day"], name="reservation_mode_day_idx")]

    def __str__(self) -> str:
        return f"{self.mode} {self.day} {format_money(self.amount)}"
