"""Which policy governs a mode."""

from __future__ import annotations

from routing.errors import UnknownMode
from routing.models import MODE_NAMES, Mode, Policy
from routing.services.lookups import policy_row


class ModePolicies:
    """Answers which policy governs a mode, and which modes allow a model."""

    def policy_for(self, mode: str) -> Policy:
        if mode not in MODE_NAMES:
            raise UnknownMode(f"Unknown mode {mode!r}; the modes are {', '.join(Mode.values)}.")
        policy = policy_row(mode)
        if policy is None:
            raise UnknownMode(f"No policy governs mode {mode!r}; add one in the admin.")
        return policy

    def policies(self) -> list[Policy]:
        by_mode = {policy.mode: policy for policy in Policy.objects.all()}
        return [by_mode[mode] for mode in Mode.values if mode in by_mode]

    def mode_allowing(self, model: str) -> str | None:
        """The first mode (in the enumeration's order) whose policy lists this model."""
        for policy in self.policies():
            if model in policy.models_in_order:
                return policy.mode
        return None
