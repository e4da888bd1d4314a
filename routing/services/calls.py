"""The one way into a model: `complete` (and `stream_completion`, its iterator twin).

A call picks the mode's policy and the models it may use, reserves its estimated cost against
the ceilings (refused before sending if it could pass one), asks the provider, falls back to
the next model when one fails before saying anything, records one ledger row per model call
with the real cost, and settles the reservation.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.utils import timezone

from routing.errors import BudgetExceeded, ModelNotAllowed, NoModelAvailable, RoutingError
from routing.models import Outcome, Policy
from routing.providers import OFFLINE_MODEL, Provider, active_provider
from routing.services import budgets, health
from routing.services.attempts import Attempts, CallSpec
from routing.services.budget_sql import Ceilings
from routing.services.budgets import HeldSettlements
from routing.services.costs import CostTracker
from routing.services.policies import ModePolicies
from routing.services.selection import Candidate, ModelSelector
from routing.tokens import estimate_tokens, max_prompt_tokens
from routing.types import (
    Completion,
    Delta,
    Message,
    ToolSpec,
)

MAX_SESSION_REF = 200  # ModelCall.session_ref


class CallOptions(TypedDict, total=False):
    """What `complete` and `stream_completion` take besides the mode and the messages."""

    tools: list[ToolSpec] | None
    session_ref: str
    model: str | None
    max_tokens: int | None
    session_ceiling: Decimal | None
    daily_ceiling: Decimal | None
    source: str
    extra: dict[str, Any] | None
    provider: Provider | None
    request_id: str
    held: HeldSettlements | None
    user_id: int | None
    api_token_prefix: str


def complete(
    *,
    mode: str,
    messages: list[Message],
    stream: bool = False,
    on_delta: Callable[[Delta], None] | None = None,
    **options: Unpack[CallOptions],
) -> Completion:
    """Ask the model the mode's policy picks; `on_delta` sees the answer as it streams.

    `model` must be one the policy allows; the ceilings override the policy's. With `held`,
    the call's settlement (its ledger row) waits for `held.settle_all()`. Raises
    `BudgetExceeded`, `NoModelAvailable`, `ModelNotAllowed`, `UnknownMode` or a
    `ProviderError` (all `routing.errors.RoutingError`).
    """
    run = _open(mode, messages, options, stream=stream)
    try:
        while True:
            try:
                delta = next(run)
            except StopIteration as stop:
                return stop.value
            if on_delta is not None:
                on_delta(delta)
    finally:
        run.close()  # on_delta raised: the call is abandoned, settled and its stream closed


class CompletionStream:
    """Deltas as they come; `completion` once exhausted. Everything that can fail before the
    first delta (budget, selection, the provider's status) raises on construction."""

    def __init__(self, run: Generator[Delta, None, Completion]) -> None:
        self._run = run
        self.completion: Completion | None = None
        self._first = self._advance()

    def _advance(self) -> Delta | None:
        try:
            return next(self._run)
        except StopIteration as stop:
            self.completion = stop.value
            return None

    def __iter__(self) -> Iterator[Delta]:
        delta = self._first
        while delta is not None:
            yield delta
            delta = self._advance()

    def close(self) -> None:
        self._run.close()


def stream_completion(
    *, mode: str, messages: list[Message], **options: Unpack[CallOptions]
) -> CompletionStream:
    return CompletionStream(_open(mode, messages, options, stream=True))


def _open(
    mode: str, messages: list[Message], options: CallOptions, *, stream: bool
) -> Generator[Delta, None, Completion]:
    spec = CallSpec(
        mode,
        messages,
        options.get("tools"),
        options.get("session_ref", ""),
        options.get("model"),
        options.get("max_tokens"),
        options.get("session_ceiling"),
        options.get("daily_ceiling"),
        options.get("source", ""),
        options.get("extra") or {},
        options.get("request_id", "")[:64],
        options.get("held"),
        options.get("user_id"),
        options.get("api_token_prefix", "")[:12],
    )
    return _run(spec, options.get("provider") or active_provider(), stream=stream)


def _candidates(spec: CallSpec, policy: Policy, provider: Provider, tokens: int) -> list[Candidate]:
    if not provider.serves_models:
        if spec.model and spec.model not in policy.models_in_order:
            # The same answer a model-serving provider gives, so a client's mistake does not
            # hide until a key is set.
            raise ModelNotAllowed(
                f"The {policy.mode} policy does not allow {spec.model!r}; it allows "
                f"{', '.join(policy.models_in_order)}."
            )
        return [Candidate(model=OFFLINE_MODEL)]
    selection = ModelSelector(provider=provider).select(
        policy, needs_tools=bool(spec.tools), tokens_needed=tokens, requested_model=spec.model
    )
    return selection.candidates


def _run(spec: CallSpec, provider: Provider, *, stream: bool) -> Generator[Delta, None, Completion]:
    if len(spec.session_ref) > MAX_SESSION_REF:
        raise RoutingError(f"session_ref is at most {MAX_SESSION_REF} characters.")
    started = timezone.now()
    tracker = CostTracker()
    policy = ModePolicies().policy_for(spec.mode)
    # A caller may ask for fewer tokens than the policy allows, never more.
    max_tokens = min(spec.max_tokens or policy.max_output_tokens, policy.max_output_tokens)
    base = {
        "mode": spec.mode,
        "session_ref": spec.session_ref,
        "source": spec.source[:50],
        "provider": provider.name,
        "stream": stream,
        "request_id": spec.request_id,
        "user_id": spec.user_id,
        "api_token_prefix": spec.api_token_prefix,
    }
    try:
        fits = estimate_tokens(spec.messages, spec.tools) + max_tokens
        candidates = _candidates(spec, policy, provider, fits)
    except (NoModelAvailable, ModelNotAllowed) as exc:
        tracker.record(
            **base,
            created_at=started,
            requested_model=spec.model or policy.model,
            outcome=Outcome.ERROR,
            error_code=exc.code,
            error=str(exc),
            attempts=0,
        )
        raise
    attempt: Attempts | None = None
    try:
        # The worst case the call can cost: the most tokens its prompt can be, and every
        # completion token it asks for, at the dearest model it may end up with.
        worst_prompt = max_prompt_tokens(spec.messages, spec.tools)
        estimate = max(
            c.estimate(prompt_tokens=worst_prompt, completion_tokens=max_tokens) for c in candidates
        )
        reservation = _reserve(spec, policy, estimate, started, tracker, base, candidates[0])
        base["estimated_cost"] = estimate
        attempt = Attempts(
            spec, policy, provider, candidates, reservation, tracker, base, stream, max_tokens
        )
        try:
            return (yield from attempt.run())
        finally:
            if not attempt.settled:
                budgets.release(reservation)  # an unexpected exit: free the money it held
    finally:
        # Probes of half-open breakers this call claimed and did not answer for.
        for candidate in candidates:
            if candidate.probe and (attempt is None or candidate.model in attempt.open_probes):
                health.release_probe(model=candidate.model)


def _reserve(
    spec: CallSpec,
    policy: Policy,
    estimate: Decimal,
    started: datetime,
    tracker: CostTracker,
    base: dict[str, Any],
    first: Candidate,
) -> budgets.Reservation:
    ceilings = Ceilings(
        session=spec.session_ceiling
        if spec.session_ceiling is not None
        else policy.session_ceiling,
        daily=spec.daily_ceiling if spec.daily_ceiling is not None else policy.daily_ceiling,
    )
    try:
        return budgets.reserve(
            mode=spec.mode,
            session_ref=spec.session_ref,
            amount=estimate,
            ceilings=ceilings,
            now=started,
        )
    except BudgetExceeded as exc:
        tracker.record(
            **base,
            created_at=started,
            requested_model=first.model,
            outcome=Outcome.REFUSED,
            error_code=exc.code,
            error=str(exc),
            estimated_cost=estimate,
            attempts=0,
        )
        raise
