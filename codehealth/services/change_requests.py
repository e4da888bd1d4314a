"""Auto-PRs against the pull requests a host (GitHub) has open: the limit and duplicates are
counted there, not only in our rows, and a pull request a person merged or closed on the
host ends its auto-PR here.

GitHub's open pull requests from ``juggernaut/fix/`` branches count towards
``CODEHEALTH_AUTOPR_MAX_OPEN`` (another Juggernaut, a deleted row, a person's copy of a
branch), together with our auto-PRs not yet published; one open for the same change's
branch refuses the change.
"""

from __future__ import annotations

import contextlib
import re

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify

from codehealth.errors import CodehealthError, PatchRefused
from codehealth.models import AutoPR, AutoPRState, Repository
from codehealth.repositories import ChangeRequest, CodeHost, open_repository
from engine.models import Task
from engine.services import EngineError, cancel_task
from engine.services.history import system_actor

BRANCH_PREFIX = "juggernaut/fix/"
HOST_ACTOR = system_actor("codehealth-host")


def key_branch(key: str) -> str:
    """The branch a change of this key is published on (a suffix when it is taken)."""
    return f"{BRANCH_PREFIX}{slugify(key)}"


def twin_of(key: str, open_on_host: list[ChangeRequest]) -> ChangeRequest | None:
    branch = key_branch(key)
    suffixed = re.compile(rf"{re.escape(branch)}-\d+")
    return next(
        (c for c in open_on_host if c.branch == branch or suffixed.fullmatch(c.branch)), None
    )


def refuse_twin(key: str, open_on_host: list[ChangeRequest]) -> None:
    twin = twin_of(key, open_on_host)
    if twin is not None:
        raise PatchRefused(
            f"pull request #{twin.number} for {key} is open on the host already "
            f"({twin.branch}): {twin.url}"
        )


def open_count(repository: Repository, open_on_host: list[ChangeRequest] | None) -> int:
    """Open changes: our open auto-PRs, and the host's open pull requests of change branches
    (ours among them, counted once)."""
    ours = AutoPR.objects.open().filter(repository=repository)
    if open_on_host is None:
        return ours.count()
    branches = {c.branch for c in open_on_host}
    return len(branches) + ours.exclude(branch__in=branches).count()


def limit_refusal(repository: Repository, count: int, *, on_host: bool) -> PatchRefused | None:
    limit = settings.CODEHEALTH_AUTOPR_MAX_OPEN
    if count < limit:
        return None
    where = f" (with the pull requests open on the host from {BRANCH_PREFIX})" if on_host else ""
    return PatchRefused(
        f"{repository.name} has {limit} open auto-PRs{where} (the limit); merge or reject one"
    )


def _end_task(autopr: AutoPR, note: str) -> None:
    task = Task.objects.filter(pk=autopr.task_id).first() if autopr.task_id else None
    if task is not None and not task.is_finished:
        with contextlib.suppress(EngineError):  # it finished meanwhile
            cancel_task(task_id=task.pk, actor=HOST_ACTOR, note=note)


def sync_with_host(
    repository: Repository, host: CodeHost, open_on_host: list[ChangeRequest]
) -> list[AutoPR]:
    """Auto-PRs waiting for a person whose pull request is no longer open on the host: a
    person merged or closed it there. Their rows follow; their tasks end. Returns them."""
    still_open = {c.number for c in open_on_host}
    waiting = AutoPR.objects.filter(
        repository=repository, state=AutoPRState.PROPOSED, external_number__isnull=False
    ).exclude(external_number__in=still_open)
    ended = []
    for autopr in waiting:
        found = host.change_request(int(autopr.external_number or 0))
        if found is None or found.state == "open":
            continue
        merged = found.state == "merged"
        AutoPR.objects.filter(pk=autopr.pk, state=AutoPRState.PROPOSED).update(
            state=AutoPRState.MERGED if merged else AutoPRState.REJECTED,
            decided_by=HOST_ACTOR,
            decided_at=timezone.now(),
            merged_commit=autopr.head_commit if merged else "",
            error="" if merged else "closed on the host without merging",
            updated_at=timezone.now(),
        )
        verb = "merged" if merged else "closed unmerged"
        _end_task(autopr, f"pull request #{found.number} was {verb} on the host")
        ended.append(autopr)
    return ended


def host_open_changes(repository: Repository) -> list[ChangeRequest] | None:
    """The host's open pull requests of change branches (None: it has none), after the
    auto-PRs a person merged or closed there have followed."""
    host = open_repository(repository)
    open_on_host = host.open_change_requests(BRANCH_PREFIX)
    if open_on_host is not None:
        sync_with_host(repository, host, open_on_host)
    return open_on_host


def check_host_room(autopr: AutoPR, host: CodeHost) -> None:
    """Just before publishing: no pull request for the same change opened meanwhile, and
    still room under the limit on the host."""
    open_on_host = host.open_change_requests(BRANCH_PREFIX)
    if open_on_host is None:
        return
    refuse_twin(autopr.key, open_on_host)
    refusal = limit_refusal(autopr.repository, len(open_on_host), on_host=True)
    if refusal is not None:
        raise refusal


def review_body(autopr: AutoPR, *, tests: str, note: str) -> str:
    parts = [
        autopr.description,
        note,
        f"Tests: {tests}.",
        f"Opened as a draft by Juggernaut's code health (auto-PR #{autopr.pk}). Merging is "
        "a person's decision: from Juggernaut (a fast-forward, refused if the base moved) "
        "or here.",
    ]
    return "\n\n".join(p for p in parts if p)


def request_review(autopr: AutoPR, host: CodeHost, branch: str, body: str) -> ChangeRequest | None:
    """The draft pull request; if the host refuses it, the branch goes too."""
    try:
        return host.request_review(
            branch=branch, target_branch=autopr.target_branch, title=autopr.title, body=body
        )
    except CodehealthError:
        host.delete_branch(branch)
        raise
