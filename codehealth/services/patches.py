"""Auto-PRs: a change built on a branch of its own, proposed to a person, merged by one.

Each auto-PR is an engine task (`codehealth.autopr`): a worker builds the branch in a
separate worktree (for a ruff fix: runs the fix, checks nothing of the rule is left, runs
the repository's tests), publishes it (on GitHub: through the git data API, with a draft
pull request), then the task waits for a person's approval. Merging (the page's button,
or approving the task) fast-forwards the target branch, refused if it moved; rejecting
deletes the branch (and closes the pull request). The task's history is the auto-PR's
audit trail.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from collections.abc import Callable

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from codehealth import processes
from codehealth.errors import AutoPRNotFound, MergeRefused, PatchRefused
from codehealth.models import AutoPR, AutoPRKind, AutoPRState, Repository
from codehealth.repositories import ChangeRequest, ChangeWorkspace, CodeHost, open_repository
from codehealth.services.change_requests import (
    BRANCH_PREFIX,
    check_host_room,
    host_open_changes,
    limit_refusal,
    open_count,
    refuse_twin,
    request_review,
    review_body,
)
from engine.models import Task, TaskSource, TaskState
from engine.services import (
    NotAllowed,
    approve_task,
    cancel_task,
    create_task,
    reject_task,
    request_approval,
)
from engine.services.history import Actor, system_actor, user_actor

AUTOPR_KIND = "codehealth.autopr"
MAX_DIFF_CHARS = 2_000_000
AUTOPR_ACTOR = system_actor("codehealth-autopr")


def may_merge(user: User | None) -> bool:
    return bool(user and (user.is_staff or user.has_perm("codehealth.merge_autopr")))


def _check_room(
    repository: Repository, kind: str, key: str, open_on_host: list[ChangeRequest] | None
) -> None:
    same = AutoPR.objects.open().filter(repository=repository, kind=kind, key=key).first()
    if same is not None:
        raise PatchRefused(f"auto-PR #{same.pk} for {key} is open already")
    if open_on_host is not None:
        refuse_twin(key, open_on_host)
    refusal = limit_refusal(
        repository, open_count(repository, open_on_host), on_host=open_on_host is not None
    )
    if refusal is not None:
        raise refusal


def create_autopr(
    *,
    repository: Repository,
    kind: str,
    key: str,
    title: str,
    base_commit: str,
    target_branch: str,
    actor: Actor,
    created_by: User | None = None,
    description: str = "",
    diff: str = "",
) -> AutoPR:
    """The auto-PR row and its engine task; refused past the open limit or when the same
    change is open already (here, or as a pull request on the host)."""
    open_on_host = host_open_changes(repository)  # asked before the transaction: no lock held
    try:
        with transaction.atomic():
            _check_room(repository, kind, key, open_on_host)
            autopr = AutoPR.objects.create(
                repository=repository,
                kind=kind,
                key=key,
                title=title[:200],
                description=description,
                base_commit=base_commit,
                target_branch=target_branch,
                diff=diff,
                created_by=actor,
            )
            autopr.task = create_task(
                title=f"Auto-PR: {title}"[:200],
                kind=AUTOPR_KIND,
                payload={"autopr": autopr.pk},
                priority=30,
                timeout_seconds=repository.test_timeout_seconds + 600,
                max_attempts=2,
                source=TaskSource.CODEHEALTH,
                source_ref=f"autopr:{autopr.pk}",
                created_by=created_by,
                actor=actor,
            ).task
            autopr.save(update_fields=["task"])
    except IntegrityError as exc:  # a concurrent proposal of the same change won
        raise PatchRefused(f"an auto-PR for {key} is open already") from exc
    return autopr


def propose_patch(
    *,
    repository: Repository,
    diff: str,
    title: str,
    actor: Actor,
    name: str = "",
    description: str = "",
    base: str = "",
    created_by: User | None = None,
) -> AutoPR:
    """A unified diff against `base` (default: the default branch) becomes an auto-PR: a
    branch ``juggernaut/fix/<name>`` with one commit, waiting for a person."""
    if not diff.strip():
        raise PatchRefused("the patch is empty")
    if len(diff) > MAX_DIFF_CHARS:
        raise PatchRefused(f"the patch is longer than {MAX_DIFF_CHARS} characters")
    key = slugify(name or title)[:80]
    if not key:
        raise PatchRefused("a patch needs a name or a title")
    host = open_repository(repository)
    target = base or repository.default_branch
    base_commit = host.resolve(target)
    host.check_patch(base_commit, diff)
    if host.branch_head(target) is None:
        target = repository.default_branch  # a commit, not a branch: merge into the default
    return create_autopr(
        repository=repository,
        kind=AutoPRKind.PATCH,
        key=key,
        title=title,
        base_commit=base_commit,
        target_branch=target,
        actor=actor,
        created_by=created_by,
        description=description,
        diff=diff,
    )


def get_autopr(autopr_id: int) -> AutoPR:
    autopr = AutoPR.objects.select_related("repository").filter(pk=autopr_id).first()
    if autopr is None:
        raise AutoPRNotFound(f"auto-PR {autopr_id} does not exist")
    return autopr


def _set_state(autopr: AutoPR, state: str, **fields: object) -> None:
    for name, value in fields.items():
        setattr(autopr, name, value)
    autopr.state = state
    AutoPR.objects.filter(pk=autopr.pk).update(state=state, updated_at=timezone.now(), **fields)


# --- building -------------------------------------------------------------------------

ChangeBuilder = Callable[[AutoPR, CodeHost, ChangeWorkspace], str]
_builders: dict[str, ChangeBuilder] = {}


def register_change_builder(kind: str, builder: ChangeBuilder) -> None:
    """How a kind of auto-PR makes its change in the workspace; returns a note (what ran)."""
    _builders[kind] = builder


def _apply_proposed_patch(autopr: AutoPR, host: CodeHost, workspace: ChangeWorkspace) -> str:
    host.apply_patch(workspace, autopr.diff)
    return ""


register_change_builder(AutoPRKind.PATCH, _apply_proposed_patch)


def test_argv(repository: Repository) -> list[str]:
    command = repository.test_command.replace("{python}", shlex.quote(sys.executable))
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise PatchRefused(f"the test command does not parse: {exc}") from exc


def run_tests(repository: Repository, workspace: ChangeWorkspace) -> processes.Completed:
    env = processes.clean_environment(repository.scan_environment or {})
    try:
        return processes.run(
            test_argv(repository),
            cwd=workspace.root,
            env=env,
            timeout=repository.test_timeout_seconds,
        )
    except OSError as exc:
        raise PatchRefused(f"the test command cannot run: {exc}") from exc


def _branch_name(autopr: AutoPR, host: CodeHost) -> str:
    branch = f"{BRANCH_PREFIX}{slugify(autopr.key) or autopr.pk}"
    if host.branch_head(branch) is not None:
        branch = f"{branch}-{autopr.pk}"
    return branch


def build_autopr(*, autopr_id: int, check_stop: Callable[[], None] = lambda: None) -> AutoPR:
    """Build the change's branch; `PatchRefused` leaves nothing behind."""
    autopr = get_autopr(autopr_id)
    repository = autopr.repository
    host = open_repository(repository)
    _set_state(autopr, AutoPRState.BUILDING)
    builder = _builders.get(autopr.kind)
    if builder is None:
        raise PatchRefused(f"no builder for {autopr.get_kind_display()} auto-PRs")
    with host.change_workspace(autopr.base_commit) as workspace:
        note = builder(autopr, host, workspace)
        diff = host.workspace_diff(workspace)
        if not diff.strip():
            raise PatchRefused("the change is empty: nothing to propose")
        check_stop()
        passed: bool | None = None
        output = ""
        if repository.test_command:
            done = run_tests(repository, workspace)
            passed, output = done.exit_code == 0, done.output_tail()
            if not passed and autopr.kind != AutoPRKind.PATCH:
                ended = "timed out" if done.timed_out else f"exited {done.exit_code}"
                raise PatchRefused(f"the tests failed on the patched tree ({ended}):\n{output}")
        elif autopr.kind != AutoPRKind.PATCH:
            raise PatchRefused("the repository has no test command: fixes are not proposed")
        branch = _branch_name(autopr, host)
        check_host_room(autopr, host)
        message = f"{autopr.title}\n\n{autopr.description}\n\n{note}".strip() + "\n"
        head = host.publish_change(workspace, branch=branch, message=message)
    tests = {True: "passed", False: "FAILED", None: "none run"}[passed]
    review = request_review(autopr, host, branch, review_body(autopr, tests=tests, note=note))
    _set_state(
        autopr,
        AutoPRState.PROPOSED,
        branch=branch,
        head_commit=head,
        diff=diff,
        diff_sha256=hashlib.sha256(diff.encode()).hexdigest(),
        tests_passed=passed,
        test_output=output,
        error="",
        external_number=review.number if review else None,
        external_url=review.url if review else "",
    )
    return autopr


# --- deciding -------------------------------------------------------------------------


def merge_proposed(autopr: AutoPR, user: User) -> None:
    if not may_merge(user):
        raise NotAllowed("merging needs staff or the codehealth.merge_autopr permission")
    if autopr.state != AutoPRState.PROPOSED:
        raise MergeRefused(f"auto-PR #{autopr.pk} is {autopr.state}, not waiting to be merged")
    host = open_repository(autopr.repository)
    try:
        host.fast_forward(
            target_branch=autopr.target_branch,
            expected=autopr.base_commit,
            new_head=autopr.head_commit,
        )
    except MergeRefused as exc:
        AutoPR.objects.filter(pk=autopr.pk).update(error=str(exc)[:2000])
        raise
    _set_state(
        autopr,
        AutoPRState.MERGED,
        decided_by=user_actor(user),
        decided_at=timezone.now(),
        merged_commit=autopr.head_commit,
        error="",
    )


def merge_autopr(*, autopr_id: int, user: User) -> AutoPR:
    """A person merges: the target branch fast-forwards to the change, refused if it moved
    since the change was built; the engine task is approved and then completes."""
    try:
        with transaction.atomic():
            autopr = AutoPR.objects.select_for_update().filter(pk=autopr_id).first()
            if autopr is None:
                raise AutoPRNotFound(f"auto-PR {autopr_id} does not exist")
            merge_proposed(autopr, user)
    except MergeRefused as exc:  # kept on the row, outside the rolled-back transaction
        AutoPR.objects.filter(pk=autopr_id).update(error=str(exc)[:2000])
        raise
    task = Task.objects.filter(pk=autopr.task_id).first() if autopr.task_id else None
    if task is not None and task.state == TaskState.WAITING_APPROVAL:
        approve_task(task_id=task.pk, user=user, note=f"merged {autopr.head_commit[:12]}")
    return autopr


def reject_autopr(*, autopr_id: int, user: User, note: str = "") -> AutoPR:
    """A person turns the change down: its branch is deleted and its task ends."""
    with transaction.atomic():
        autopr = AutoPR.objects.select_for_update().filter(pk=autopr_id).first()
        if autopr is None:
            raise AutoPRNotFound(f"auto-PR {autopr_id} does not exist")
        if not autopr.is_open:
            raise PatchRefused(f"auto-PR #{autopr.pk} is {autopr.state}")
        _close_rejected(autopr, actor=user_actor(user), note=note)
    task = Task.objects.filter(pk=autopr.task_id).first() if autopr.task_id else None
    if task is not None and task.state == TaskState.WAITING_APPROVAL:
        reject_task(task_id=task.pk, user=user, note=note or "rejected")
    elif task is not None and not task.is_finished:
        cancel_task(task_id=task.pk, actor=user_actor(user), note=note or "rejected")
    return autopr


def _close_rejected(autopr: AutoPR, *, actor: Actor, note: str) -> None:
    host = open_repository(autopr.repository) if autopr.branch else None
    if host is not None and autopr.external_number:
        host.close_change_request(autopr.external_number)
    if host is not None:
        host.delete_branch(autopr.branch)
    _set_state(
        autopr,
        AutoPRState.REJECTED,
        decided_by=actor,
        decided_at=timezone.now(),
        error=note[:2000],
    )


def on_task_decided(sender: object, *, task: Task, decision: str, user: User, **_: object) -> None:
    """Rejected from the engine (the Engine page, the task API): the auto-PR is too."""
    if task.kind != AUTOPR_KIND or decision != "rejected":
        return
    autopr = AutoPR.objects.filter(task=task).first()
    if autopr is not None and autopr.is_open:
        _close_rejected(autopr, actor=user_actor(user), note="rejected in the engine")


# --- the engine task ------------------------------------------------------------------


def approval_reason(autopr: AutoPR) -> str:
    tests = {True: "tests passed", False: "TESTS FAILED", None: "no tests run"}[autopr.tests_passed]
    review = f" Draft pull request: {autopr.external_url}" if autopr.external_url else ""
    return (
        f"Merge {autopr.branch} into {autopr.target_branch} of {autopr.repository.name}? "
        f"{autopr.title} ({tests}; diff {autopr.diff.count(chr(10))} lines).{review}"
    )


def request_merge_decision(autopr: AutoPR, task_id: int) -> None:
    request_approval(task_id=task_id, reason=approval_reason(autopr), actor=AUTOPR_ACTOR)


def fail_build(autopr_id: int, error: str) -> None:
    AutoPR.objects.filter(pk=autopr_id).update(
        state=AutoPRState.FAILED, error=error[:5000], updated_at=timezone.now()
    )
