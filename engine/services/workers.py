"""Registering workers and issuing tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from engine.executors import executors
from engine.models import ApiToken, Worker, WorkerState, hash_token
from engine.permissions import MANAGE_WORKERS, has_permission
from engine.services.errors import NotAllowed, WorkerNameTaken
from engine.services.history import Actor, worker_actor
from engine.services.leases import end_attempts_held_by
from engine.signals import api_tokens_revoked
from engine.token_cache import recent_owners

USER_TOKEN_PREFIX = "jgt_"  # noqa: S105 - a prefix, not a secret
WORKER_TOKEN_PREFIX = "jgw_"  # noqa: S105


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class RegisteredWorker:
    worker: Worker
    token: str
    created: bool


@dataclass(frozen=True)
class TaskKinds:
    """The kinds a task may have and still run: an executor of this process runs it, or a
    worker (built-in or remote, online or not) says it can."""

    executors: frozenset[str]
    workers: frozenset[str]
    online: frozenset[str]

    @property
    def all(self) -> list[str]:
        return sorted(self.executors | self.workers)

    def __contains__(self, kind: object) -> bool:
        return kind in self.executors or kind in self.workers

    def describe(self) -> str:
        """`agent, echo, sleep (online now: agent, echo)`, for someone choosing one."""
        known = ", ".join(self.all) or "none"
        online = ", ".join(sorted(self.online)) or "none"
        return f"{known} (a worker online now runs: {online})"


def task_kinds() -> TaskKinds:
    every: set[str] = set()
    online: set[str] = set()
    for capabilities, state in Worker.objects.values_list("capabilities", "state"):
        every.update(capabilities or [])
        if state == WorkerState.ONLINE:
            online.update(capabilities or [])
    return TaskKinds(frozenset(executors.kinds()), frozenset(every), frozenset(online))


@transaction.atomic
def register_worker(
    *,
    name: str,
    capabilities: list[str],
    max_concurrency: int = 1,
    registered_by: User | None = None,
    shared: bool | None = None,
) -> RegisteredWorker:
    """Register an external worker, or re-register one by name with a fresh token.

    The token is returned once; only its digest is stored, so a worker that lost its token
    registers again and the old token stops working. A worker belongs to the user who
    registered it: only they, or a user who may manage workers (`engine.change_worker`), may
    register it again, and it keeps its owner. Only such a user may make a worker `shared`
    (it then claims everyone's tasks); `None` leaves it as it is. `registered_by` None is the
    operator on the machine (a command, a test): no check.
    """
    manager = registered_by is None or has_permission(registered_by, MANAGE_WORKERS)
    if shared and not manager:
        raise NotAllowed(
            "shared: only a user who may manage workers (engine.change_worker) may register a "
            "shared worker, which claims everyone's tasks"
        )
    token = new_token(WORKER_TOKEN_PREFIX)
    worker, created = Worker.objects.select_for_update().get_or_create(
        name=name,
        defaults={
            "capabilities": capabilities,
            "max_concurrency": max_concurrency,
            "registered_by": registered_by,
        },
    )
    if worker.builtin:
        raise WorkerNameTaken(f"worker name {name!r} belongs to a built-in worker")
    owned = registered_by is not None and worker.registered_by_id == registered_by.pk
    if not (created or owned or manager):
        # Refused before anything is written: the owner's token keeps working.
        raise WorkerNameTaken(
            f"worker name {name!r} belongs to another user's worker; choose another name"
        )
    if worker.registered_by_id is None:
        worker.registered_by = registered_by  # an owner whose account is gone: adopted
    worker.capabilities = sorted(set(capabilities))
    worker.max_concurrency = max_concurrency
    worker.state = WorkerState.ONLINE
    worker.last_heartbeat_at = timezone.now()
    worker.token_hash = hash_token(token)
    worker.builtin = False
    if shared is not None:
        worker.shared = shared
    worker.save()
    return RegisteredWorker(worker, token, created)


@transaction.atomic
def ensure_builtin_worker(*, name: str, capabilities: list[str], max_concurrency: int) -> Worker:
    """The in-process worker `run_worker` drives: no token, it talks to the database."""
    worker, _ = Worker.objects.select_for_update().get_or_create(name=name)
    worker.capabilities = sorted(set(capabilities))
    worker.max_concurrency = max_concurrency
    worker.state = WorkerState.ONLINE
    worker.last_heartbeat_at = timezone.now()
    worker.builtin = True
    worker.save()
    return worker


@dataclass(frozen=True)
class WorkerStateChange:
    worker: Worker
    # The running tasks whose attempt ended because the worker went offline.
    ended_task_ids: list[int] = field(default_factory=list)


def set_worker_state(
    *, worker: Worker, state: WorkerState, actor: Actor | None = None
) -> WorkerStateChange:
    """Draining workers finish what they hold and claim nothing new. An offline worker holds
    nothing: the tasks it is running end their attempt now, as the stuck detector ends those
    of a silent worker, instead of waiting for their leases to run out.

    `actor` (for the history rows) defaults to the worker itself, stopping.
    """
    with transaction.atomic():
        Worker.objects.filter(pk=worker.pk).update(state=state)
        worker.state = state
        if state != WorkerState.OFFLINE:
            return WorkerStateChange(worker)
        who = actor or worker_actor(worker)
        ended = end_attempts_held_by(
            worker, error=f"worker {worker.name} was marked offline by {who}", actor=who
        )
    return WorkerStateChange(worker, ended)


def create_api_token(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new API token for `user`: the row and the token, which is shown only now."""
    token = new_token(USER_TOKEN_PREFIX)
    row = ApiToken.objects.create(
        user=user, name=name, token_hash=hash_token(token), prefix=token[:10]
    )
    return row, token


def revoke_api_tokens(*, token_ids: Iterable[int]) -> int:
    """Revoke the given user tokens: the next request that presents one gets 401. Returns
    how many were live; revoking a revoked token changes nothing. Revocation is final: a
    user who still needs access is issued a new token."""
    live = ApiToken.objects.filter(pk__in=list(token_ids), revoked=False)
    owners = sorted(set(live.values_list("user_id", flat=True)))
    revoked = live.update(revoked=True)
    recent_owners.clear()
    if owners:
        transaction.on_commit(
            lambda: api_tokens_revoked.send(sender=ApiToken, user_ids=owners), robust=True
        )
    return revoked
