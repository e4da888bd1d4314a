"""What a repair changed, check by check: the diagnosis before against the one after."""

from __future__ import annotations

from typing import Any

from selfheal.checks import CheckOutcome
from selfheal.checks.base import get_check
from selfheal.models import severity_rank


def compare(before: list[CheckOutcome], after: list[CheckOutcome]) -> dict[str, Any]:
    """Improved, not improved or worse, per check.

    A better severity is an improvement; at the same severity, the check's problem counts
    (its ``LOWER_IS_BETTER`` evidence) decide: seven stuck tasks down to two is still a
    warning, but it is better.
    """
    earlier = {outcome.check: outcome for outcome in before}
    result: dict[str, list[dict[str, Any]]] = {"improved": [], "not_improved": [], "worse": []}
    for outcome in after:
        old = earlier.get(outcome.check)
        if old is None:
            continue
        check = get_check(outcome.check)
        keys = check.LOWER_IS_BETTER if check is not None else ()
        counts = {
            key: [old.result.evidence.get(key), outcome.result.evidence.get(key)] for key in keys
        }
        fell = any(_lt(new, was) for was, new in counts.values())
        rose = any(_lt(was, new) for was, new in counts.values())
        delta = severity_rank(outcome.severity) - severity_rank(old.severity)
        entry = {
            "check": outcome.check,
            "before": old.severity.value,
            "after": outcome.severity.value,
            "message": outcome.result.message,
            "counts": {key: pair for key, pair in counts.items() if pair[0] != pair[1]},
        }
        if delta < 0 or (delta == 0 and fell and not rose):
            result["improved"].append(entry)
        elif delta > 0 or (rose and not fell):
            result["worse"].append(entry)
        else:
            result["not_improved"].append(entry)
    return result


def _lt(a: Any, b: Any) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float) and a < b


def describe(verify: dict[str, Any]) -> str:
    """The comparison in a sentence or three."""
    if "skipped" in verify:
        return ""
    parts = []
    for key, label in (("improved", "Improved"), ("worse", "Worse"), ("not_improved", "Same")):
        items = verify.get(key, [])
        if not items:
            continue
        named = []
        for item in items:
            moved = ", ".join(
                f"{name.replace('_', ' ')} {was}→{now}"
                for name, (was, now) in item["counts"].items()
            )
            severity = (
                "" if item["before"] == item["after"] else f"{item['before']}→{item['after']}"
            )
            detail = "; ".join(x for x in (severity, moved) if x)
            named.append(f"{item['check']} ({detail})" if detail else item["check"])
        parts.append(f"{label}: {', '.join(named)}.")
    return " ".join(parts)
