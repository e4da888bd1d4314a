"""The engine's permissions, by name, and what makes a task dangerous.

Declared on the models' Meta, granted through groups in the admin; the roles and what each
may do are in docs/security.md ("Roles and permissions"). Superusers hold every permission.
"""

from __future__ import annotations

from typing import Any

DECIDE_OTHERS_TASKS = "engine.decide_others_task"
APPROVE_DANGEROUS_TASKS = "engine.approve_dangerous_task"
# Django's own: re-register (a new token for) someone else's worker, mark workers shared.
MANAGE_WORKERS = "engine.change_worker"

# Tasks of these kinds act on live systems (restart a service...): dangerous, like a chat
# agent's dangerous tool call.
OPS_KIND_PREFIX = "ops."


def is_ops_kind(kind: str) -> bool:
    return kind.startswith(OPS_KIND_PREFIX)


def has_permission(user: Any, permission: str) -> bool:
    """`user.has_perm`, for anything that may stand in for a user (a worker's principal, an
    anonymous visitor, None): those hold no permission. Inactive users hold none either."""
    has_perm = getattr(user, "has_perm", None)
    return bool(callable(has_perm) and has_perm(permission))
