"""Routing's public functions. Other apps call `complete` (or `stream_completion`) and read
policies through `ModePolicies`; nothing else here is theirs to depend on."""

from routing.errors import (
    BudgetExceeded,
    ModelNotAllowed,
    ModelOverPriceCap,
    NoModelAvailable,
    NoProviderForConstraints,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderOutOfCredits,
    ProviderRateLimited,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
    RoutingError,
    StreamInterrupted,
    UnknownMode,
)
from routing.money import quantize_money
from routing.services.budget_sql import Ceilings
from routing.services.budgets import reserve, settle
from routing.services.calls import CompletionStream, complete, stream_completion
from routing.services.costs import CostTracker
from routing.services.overview import provider_status
from routing.services.policies import ModePolicies
from routing.services.prices import (
    SyncResult,
    load_snapshot,
    sync_from_openrouter,
    sync_model_prices,
)
from routing.services.selection import Candidate, ModelSelector, Selection
from routing.types import Completion, Delta, ToolCall, ToolCallFragment, Usage

__all__ = [
    "BudgetExceeded",
    "Candidate",
    "Ceilings",
    "Completion",
    "CompletionStream",
    "CostTracker",
    "Delta",
    "ModePolicies",
    "ModelNotAllowed",
    "ModelOverPriceCap",
    "ModelSelector",
    "NoModelAvailable",
    "NoProviderForConstraints",
    "ProviderAuthError",
    "ProviderBadRequest",
    "ProviderError",
    "ProviderOutOfCredits",
    "ProviderRateLimited",
    "ProviderStreamError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RoutingError",
    "Selection",
    "StreamInterrupted",
    "SyncResult",
    "ToolCall",
    "ToolCallFragment",
    "UnknownMode",
    "Usage",
    "complete",
    "load_snapshot",
    "provider_status",
    "quantize_money",
    "reserve",
    "settle",
    "stream_completion",
    "sync_from_openrouter",
    "sync_model_prices",
]
