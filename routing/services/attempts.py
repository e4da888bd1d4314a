"""One call's tries: each candidate model in turn, with its ledger row and settlement."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from decimal import Decimal
from time import perf_counter
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from routing.errors import ProviderError
from routing.models import ZERO, ModelCall, Outcome, Policy
from routing.providers import Provider
from routing.services import budgets, health
from routing.services.budgets import HeldSettlements, Reservation
from routing.services.costs import CostTracker
from routing.services.selection import Candidate
from routing.tokens import CHARS_PER_TOKEN, estimate_tokens
from routing.types import (
    Completion,
    Delta,
    Message,
    ProviderRequest,
    ProviderResult,
    ToolSpec,
    Usage,
)


@dataclass(frozen=True)
class CallSpec:
    mode: str
    messages: list[Message]
    tools: list[ToolSpec] | None = None
    session_ref: str = ""
    model: str | None = None
    max_tokens: int | None = None
    session_ceiling: Decimal | None = None
    daily_ceiling: Decimal | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    request_id: str = ""
    held: HeldSettlements | None = None  # settle later, through it, instead of now
    user_id: int | None = None  # who the ledger says made the call
    api_token_prefix: str = ""


# OpenRouter tries the models of one request's `models` list itself, in order; a request
# names the model and at most two fallbacks (the length OpenRouter documents for the list).
SERVER_SIDE_MODELS = 3


class Attempts:
    """Tries the candidates in order, one request per group: a model alone, or for a provider
    that falls back itself (OpenRouter) up to three in one request's `models`, so that no
    model is asked twice. Falls back only while nothing has been said, and sends at most
    `ROUTING_MAX_UPSTREAM_REQUESTS` requests for the call, retries included."""

    def __init__(
        self,
        spec: CallSpec,
        policy: Policy,
        provider: Provider,
        candidates: list[Candidate],
        reservation: Reservation,
        tracker: CostTracker,
        base: dict[str, Any],
        stream: bool,
        max_tokens: int,
    ) -> None:
        self.spec, self.policy, self.provider = spec, policy, provider
        self.candidates, self.reservation, self.tracker = candidates, reservation, tracker
        self.base, self.stream, self.max_tokens = base, stream, max_tokens
        self.tried: list[str] = []
        self.settled = False
        self.requests_left = int(settings.ROUTING_MAX_UPSTREAM_REQUESTS)
        # Probes this call claimed and has not yet given a verdict on (calls.py gives back
        # whatever is left here when the call ends).
        self.open_probes = {c.model for c in candidates if c.probe}

    def settle(self, call: ModelCall) -> ModelCall:
        if self.spec.held is not None:
            self.spec.held.hold(self.reservation, call)
        else:
            budgets.settle(self.reservation, call)
        self.settled = True
        return call

    def groups(self) -> list[list[Candidate]]:
        size = SERVER_SIDE_MODELS if self.provider.routes_server_side else 1
        return [self.candidates[i : i + size] for i in range(0, len(self.candidates), size)]

    def request_for(self, group: list[Candidate]) -> ProviderRequest:
        server_side = self.provider.routes_server_side
        return ProviderRequest(
            model=group[0].model,
            messages=self.spec.messages,
            tools=self.spec.tools,
            fallback_models=[c.model for c in group[1:]],
            max_tokens=self.max_tokens,
            max_price_per_1k=self.policy.max_price_per_1k if server_side else None,
            stream=self.stream,
            extra=self.spec.extra,
            max_attempts=self.requests_left,
        )

    def run(self) -> Generator[Delta, None, Completion]:
        groups = self.groups()
        for index, group in enumerate(groups):
            candidate = group[0]
            started, clock = timezone.now(), perf_counter()
            first_token_ms: int | None = None
            said: list[str] = []
            _hand_back_connection()
            sending = self.provider.send(self.request_for(group))
            try:
                while True:
                    try:
                        delta = next(sending)
                    except StopIteration as stop:
                        result: ProviderResult = stop.value
                        break
                    if first_token_ms is None:
                        first_token_ms = _ms(clock)
                    said.append(
                        delta.text or (delta.tool_call.arguments if delta.tool_call else "")
                    )
                    yield delta
            except ProviderError as exc:
                self.requests_left -= max(exc.attempts, 1)
                final = (
                    index == len(groups) - 1
                    or not exc.fallback
                    or bool(said)
                    or self.requests_left <= 0
                )
                self._failed(candidate, exc, started, clock, first_token_ms, final=final)
                if final:
                    raise
                self.tried.append(candidate.model)
                continue
            except GeneratorExit:
                self._abandoned(candidate, started, clock, first_token_ms, "".join(said))
                raise
            except Exception as exc:
                # A fault of ours or the provider's code, not an answer: the call still lands
                # in the ledger (the caller gets the fault, and the logs its traceback).
                self._crashed(candidate, exc, started, clock, first_token_ms)
                raise
            finally:
                sending.close()
            return self._succeeded(group, result, started, clock, first_token_ms)
        raise AssertionError("unreachable: the selector never returns no candidates")

    def _succeeded(
        self,
        group: list[Candidate],
        result: ProviderResult,
        started: Any,
        clock: float,
        first_token_ms: int | None,
    ) -> Completion:
        candidate = group[0]
        cost, cost_source = self.tracker.cost_of(
            model=result.model, usage=result.usage, charges=self.provider.serves_models
        )
        # The model that answered, when it is one of the group's (OpenRouter may have fallen
        # back to another of them); else the one asked first.
        answered = next((c for c in group if c.model == result.model), candidate)
        if answered.owed_a_verdict:
            health.record_success(model=answered.model)
            self.open_probes.discard(answered.model)
        # The worst case was reserved; a provider that reports more (OpenRouter's
        # usage.cost can) is recorded in full, never clipped, and its ceiling then refuses
        # further calls.
        overrun = max(cost - self.reservation.amount, ZERO)
        latency = _ms(clock)
        call = self.settle(
            self.tracker.prepare(
                **self.base,
                created_at=started,
                requested_model=candidate.model,
                model=result.model,
                usage=result.usage,
                cost=cost,
                cost_source=cost_source,
                latency_ms=latency,
                first_token_ms=first_token_ms,
                attempts=result.attempts,
                outcome=Outcome.OK,
                generation_id=result.generation_id[:200],
                overrun=overrun,
            ),
        )
        return Completion(
            content=result.content,
            tool_calls=result.tool_calls,
            finish_reason=result.finish_reason,
            usage=result.usage,
            cost=cost,
            model=result.model,
            provider=self.provider.name,
            provider_label=self.provider.label,
            mode=self.spec.mode,
            call_id=call.pk,
            latency_ms=latency,
            fallbacks_tried=list(self.tried),
        )

    def _failed(
        self,
        candidate: Candidate,
        exc: ProviderError,
        started: Any,
        clock: float,
        first_token_ms: int | None,
        *,
        final: bool,
    ) -> None:
        if exc.counts_against_model:
            health.record_failure(model=candidate.model, error=str(exc), probe=candidate.probe)
            self.open_probes.discard(candidate.model)
        fields = self._error_fields(
            candidate, started, clock, first_token_ms, code=exc.code, error=str(exc)
        )
        fields["attempts"] = exc.attempts
        if final:
            self.settle(self.tracker.prepare(**fields))
        else:
            self.tracker.record(**fields)

    def _crashed(
        self,
        candidate: Candidate,
        exc: Exception,
        started: Any,
        clock: float,
        first_token_ms: int | None,
    ) -> None:
        error = f"{type(exc).__name__}: {exc}"
        fields = self._error_fields(
            candidate, started, clock, first_token_ms, code="internal_error", error=error
        )
        self.settle(self.tracker.prepare(**fields))

    def _error_fields(
        self,
        candidate: Candidate,
        started: Any,
        clock: float,
        first_token_ms: int | None,
        *,
        code: str,
        error: str,
    ) -> dict[str, Any]:
        return dict(
            **self.base,
            created_at=started,
            requested_model=candidate.model,
            model=candidate.model,
            latency_ms=_ms(clock),
            first_token_ms=first_token_ms,
            outcome=Outcome.ERROR,
            error_code=code,
            error=error,
        )

    def _abandoned(
        self,
        candidate: Candidate,
        started: Any,
        clock: float,
        first_token_ms: int | None,
        said: str,
    ) -> None:
        # The caller stopped reading (a client hung up). The provider may bill what it
        # generated; without its usage report, charge what we saw at the table's prices.
        usage = Usage(
            prompt_tokens=estimate_tokens(self.spec.messages, self.spec.tools),
            completion_tokens=int(len(said) / CHARS_PER_TOKEN),
        )
        cost, cost_source = self.tracker.cost_of(
            model=candidate.model, usage=usage, charges=self.provider.serves_models
        )
        self.settle(
            self.tracker.prepare(
                **self.base,
                created_at=started,
                requested_model=candidate.model,
                model=candidate.model,
                usage=usage,
                cost=cost,
                cost_source=cost_source,
                latency_ms=_ms(clock),
                first_token_ms=first_token_ms,
                outcome=Outcome.ERROR,
                error_code="abandoned",
                error="The caller stopped reading; the cost is estimated from what it was sent.",
            ),
        )


def _hand_back_connection() -> None:
    """A call waits on its model for seconds; its thread needs no database connection
    meanwhile. With a pool (PostgreSQL: config/database.py) it goes back for the process's
    other requests, and the next query takes one again; without, nothing changes. Never
    inside a transaction, which lives on its connection."""
    if connection.connection is None or connection.in_atomic_block:
        return
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and connection.autocommit:
        connection.close()


def _ms(clock: float) -> int:
    return int((perf_counter() - clock) * 1000)
