"""Routing's errors. Each carries the HTTP status and code an API face answers with, and a
message that says what happened and what to do about it."""

from __future__ import annotations

from decimal import Decimal

from routing.money import format_money
from routing.redaction import redact_text


class RoutingError(Exception):
    status_code = 400
    code = "routing_error"
    error_type = "invalid_request_error"
    param: str | None = None  # the request field at fault, as OpenAI's errors name it


class UnknownMode(RoutingError):
    code = "unknown_mode"


class ModelNotAllowed(RoutingError):
    code = "model_not_allowed"
    param = "model"


class ModelOverPriceCap(ModelNotAllowed):
    """The caller named a model the policy lists but prices over its cap: refused, never
    quietly served by another model."""

    code = "model_over_price_cap"


class SessionNotOwned(RoutingError):
    """A gateway caller named a session (X-Juggernaut-Session, `user`) it may not charge."""

    status_code = 403
    code = "session_not_owned"
    error_type = "permission_error"
    param = "user"


class NoModelAvailable(RoutingError):
    """Every model of the policy was ruled out (price, tools, context window, cool-down)."""

    status_code = 503
    code = "no_model_available"
    error_type = "server_error"


class BudgetExceeded(RoutingError):
    """The call's estimated cost would pass a ceiling; it was not sent."""

    status_code = 402
    code = "budget_exceeded"
    error_type = "insufficient_quota"

    def __init__(
        self, *, ceiling_name: str, ceiling: Decimal, spent: Decimal, estimate: Decimal
    ) -> None:
        self.ceiling_name = ceiling_name
        self.ceiling = ceiling
        self.spent = spent
        self.estimate = estimate
        self.remaining = max(ceiling - spent, Decimal("0"))
        left, limit = format_money(self.remaining), format_money(ceiling)
        super().__init__(
            f"Refused before sending: this call may cost up to {format_money(estimate)}, and the "
            f"{ceiling_name} ceiling of {limit} has {left} left ({format_money(spent)} spent or "
            "reserved). Raise the ceiling in the policy, or wait."
        )


class ProviderError(RoutingError):
    """A provider failed. `fallback` says whether another model might do better."""

    status_code = 502
    code = "provider_error"
    error_type = "api_error"
    fallback = True
    counts_against_model = True

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        # Its text quotes the upstream, which may echo the key it was sent: redacted here,
        # before any answer, event, ledger row or log line can carry it.
        super().__init__(redact_text(message))
        self.attempts = attempts


class ProviderAuthError(ProviderError):
    code = "upstream_auth_failed"
    fallback = False
    counts_against_model = False


class ProviderOutOfCredits(ProviderError):
    """The upstream account has no credit left (402): a quota error, as OpenRouter answers
    it, not a server error; the gateway's clients get the 402."""

    status_code = 402
    code = "upstream_out_of_credits"
    error_type = "insufficient_quota"
    fallback = False
    counts_against_model = False


class ProviderBadRequest(ProviderError):
    status_code = 400
    code = "upstream_bad_request"
    error_type = "invalid_request_error"
    fallback = False
    counts_against_model = False


class ProviderRateLimited(ProviderError):
    status_code = 429
    code = "upstream_rate_limited"
    counts_against_model = False

    def __init__(self, message: str, *, attempts: int = 1, retry_after: float | None = None):
        super().__init__(message, attempts=attempts)
        self.retry_after = retry_after


class NoProviderForConstraints(ProviderError):
    status_code = 503
    code = "no_provider_meets_constraints"


class ProviderUnavailable(ProviderError):
    code = "upstream_unavailable"


class ProviderTimeout(ProviderError):
    status_code = 504
    code = "upstream_timeout"


class ProviderStreamError(ProviderError):
    """The provider reported an error inside a 200 stream."""

    code = "upstream_stream_error"


class StreamInterrupted(ProviderError):
    """The connection closed before the stream finished."""

    code = "upstream_stream_interrupted"
