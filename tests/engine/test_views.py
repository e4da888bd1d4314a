from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engine import views
from engine.forms import Cursor
from engine.models import Task, TaskEvent, TaskState, WorkerState
from engine.services import create_task, request_approval
from tests.factories import TaskFactory, WorkerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client: Client, user: Any) -> Client:
    """A member of the operator role: decides other people's and the system's tasks."""
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name="operator"))
    client.force_login(user)
    return client


def waiting_task(title: str = "deploy hotfix", reason: str = "touches production") -> Task:
    task = create_task(title=title, kind="agent").task
    return request_approval(task_id=task.pk, reason=reason, actor="system:test")


def flashed(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "engine:page", ()),
        ("get", "engine:live", ()),
        ("get", "engine:task", (1,)),
        ("post", "engine:approve", (1,)),
        ("post", "engine:reject", (1,)),
        ("post", "engine:cancel", (1,)),
        ("post", "engine:retry", (1,)),
    ],
)
def test_anonymous_visitors_are_sent_to_login(
    client: Client, method: str, name: str, args: tuple[int, ...]
) -> None:
    url = reverse(name, args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_post_changes_nothing(client: Client) -> None:
    task = waiting_task()
    client.post(reverse("engine:approve", args=[task.pk]))
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL


def test_root_leads_to_the_engine_page(operator_client: Client) -> None:
    response = operator_client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("engine:page")


def test_page_shows_counts_by_state(operator_client: Client) -> None:
    TaskFactory.create_batch(3, state=TaskState.PENDING)
    TaskFactory.create_batch(2, state=TaskState.FAILED)
    TaskFactory(state=TaskState.DONE)

    response = operator_client.get(reverse("engine:page"))

    assert response.status_code == 200
    counts = {c.state: c.count for c in response.context["state_counts"]}
    assert counts == {
        "pending": 3,
        "running": 0,
        "blocked": 0,
        "waiting_approval": 0,
        "done": 1,
        "failed": 2,
        "cancelled": 0,
    }
    html = response.content.decode()
    assert 'data-count="pending">3<' in html
    assert 'data-count="failed">2<' in html


def test_page_shows_oldest_pending_age(operator_client: Client) -> None:
    now = timezone.now()
    oldest = TaskFactory(created_at=now - timedelta(minutes=7, seconds=5))
    TaskFactory(created_at=now - timedelta(minutes=1))
    TaskFactory(state=TaskState.DONE, created_at=now - timedelta(days=3))

    response = operator_client.get(reverse("engine:page"))

    assert response.context["oldest_pending"] == oldest
    assert response.context["oldest_pending_age"].startswith("7m 0")


def test_page_shows_workers_and_flags_late_heartbeats(
    operator_client: Client, settings: Any
) -> None:
    settings.ENGINE_HEARTBEAT_GRACE_SECONDS = 90
    now = timezone.now()
    fresh = WorkerFactory(name="fresh-one", capabilities=["echo", "agent"], max_concurrency=4)
    late = WorkerFactory(name="late-one", last_heartbeat_at=now - timedelta(minutes=10))
    WorkerFactory(
        name="gone-one", state=WorkerState.OFFLINE, last_heartbeat_at=now - timedelta(days=1)
    )
    TaskFactory(state=TaskState.RUNNING, lease_worker=fresh)

    response = operator_client.get(reverse("engine:page"))

    rows = {row.worker.name: row for row in response.context["workers"]}
    assert rows["fresh-one"].late is False
    assert rows["fresh-one"].running == 1
    assert rows["late-one"].late is True
    assert rows["late-one"].heartbeat_age.startswith("10m")
    assert rows["gone-one"].late is False, "an offline worker is expected to be silent"
    html = response.content.decode()
    assert '<span class="tag">agent</span>' in html
    assert "1 / 4" in html
    assert html.count('data-late="true"') == 1
    assert late.name in html


def test_page_lists_the_approval_queue(operator_client: Client) -> None:
    task = waiting_task(reason="wants to restart the database")

    response = operator_client.get(reverse("engine:page"))

    assert [row.task for row in response.context["approvals"]] == [task]
    html = response.content.decode()
    assert "wants to restart the database" in html
    assert reverse("engine:approve", args=[task.pk]) in html
    assert reverse("engine:reject", args=[task.pk]) in html
    assert "csrfmiddlewaretoken" in html


def test_approve_button_puts_the_task_back_to_pending(operator_client: Client, user: Any) -> None:
    task = waiting_task()

    response = operator_client.post(reverse("engine:approve", args=[task.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("engine:page")
    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert task.decided_by == user
    last = TaskEvent.objects.filter(task=task).last()
    assert last is not None and last.actor == "user:alice"
    assert any("Approved" in m for m in flashed(response))


def test_reject_button_cancels_the_task(operator_client: Client) -> None:
    task = waiting_task()

    operator_client.post(reverse("engine:reject", args=[task.pk]))

    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert task.approval_decision == "rejected"


def test_approving_a_task_in_the_wrong_state_is_a_message_not_an_error(
    operator_client: Client,
) -> None:
    task = TaskFactory(state=TaskState.DONE)

    response = operator_client.post(reverse("engine:approve", args=[task.pk]), follow=True)

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    html = response.content.decode()
    assert "Could not approve task #" in html
    assert "msg-error" in html


def test_action_on_a_missing_task_is_404(operator_client: Client) -> None:
    response = operator_client.post(reverse("engine:approve", args=[999999]))
    assert response.status_code == 404


def test_actions_refuse_get(operator_client: Client) -> None:
    task = waiting_task()
    response = operator_client.get(reverse("engine:approve", args=[task.pk]))
    assert response.status_code == 405


def test_action_goes_back_to_a_local_next_only(operator_client: Client) -> None:
    first, second = waiting_task("one"), waiting_task("two")
    task_url = reverse("engine:task", args=[first.pk])

    local = operator_client.post(reverse("engine:approve", args=[first.pk]), {"next": task_url})
    foreign = operator_client.post(
        reverse("engine:approve", args=[second.pk]), {"next": "https://evil.example/"}
    )

    assert local["Location"] == task_url
    assert foreign["Location"] == reverse("engine:page")


def test_cancel_and_retry_from_the_task_page(operator_client: Client) -> None:
    task = create_task(title="index logs", kind="echo").task

    operator_client.post(reverse("engine:cancel", args=[task.pk]))
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED

    operator_client.post(reverse("engine:retry", args=[task.pk]))
    task.refresh_from_db()
    assert task.state == TaskState.PENDING


def test_task_page_shows_fields_payload_and_history(operator_client: Client) -> None:
    task = create_task(title="rotate keys", kind="agent", payload={"target": "vault-7"}).task
    request_approval(task_id=task.pk, reason="needs a human", actor="system:guard")
    operator_client.post(reverse("engine:approve", args=[task.pk]))

    response = operator_client.get(reverse("engine:task", args=[task.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "rotate keys" in html
    assert "vault-7" in html
    events = response.context["events"]
    assert [(e.from_state, e.to_state) for e in events] == [
        ("", "pending"),
        ("pending", "waiting_approval"),
        ("waiting_approval", "pending"),
    ]
    assert "system:guard" in html
    assert "user:alice" in html
    assert "needs a human" in html
    assert response.context["can_cancel"] is True
    assert response.context["can_retry"] is False


def test_task_page_shows_the_error_and_offers_retry(operator_client: Client) -> None:
    task = TaskFactory(state=TaskState.FAILED, last_error="Traceback: boom")

    response = operator_client.get(reverse("engine:task", args=[task.pk]))

    html = response.content.decode()
    assert "Traceback: boom" in html
    assert reverse("engine:retry", args=[task.pk]) in html
    assert reverse("engine:cancel", args=[task.pk]) not in html


def test_task_page_of_a_missing_task_is_404(operator_client: Client) -> None:
    assert operator_client.get(reverse("engine:task", args=[424242])).status_code == 404


def test_recent_tasks_filter_by_state(operator_client: Client) -> None:
    failed = TaskFactory(state=TaskState.FAILED, title="broken one")
    TaskFactory(state=TaskState.DONE, title="fine one")

    response = operator_client.get(reverse("engine:page"), {"state": "failed"})

    assert response.context["recent"].tasks == [failed]


def test_bad_filter_is_a_400_naming_the_field(operator_client: Client) -> None:
    response = operator_client.get(reverse("engine:page"), {"state": "exploded"})
    assert response.status_code == 400
    assert b"state" in response.content

    response = operator_client.get(reverse("engine:page"), {"before": "yesterday"})
    assert response.status_code == 400
    assert b"before" in response.content


def test_recent_tasks_page_through_without_gaps_or_repeats(
    operator_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "RECENT_PAGE_SIZE", 3)
    same_moment = timezone.now() - timedelta(hours=1)
    # Several rows share a created_at, so the cursor must break ties by id.
    tasks = [TaskFactory(created_at=same_moment) for _ in range(4)]
    tasks += [TaskFactory(created_at=same_moment + timedelta(seconds=i)) for i in range(1, 4)]
    newest_first = sorted(tasks, key=lambda t: (t.created_at, t.pk), reverse=True)

    seen: list[Task] = []
    params: dict[str, str] = {}
    pages = []
    while True:
        recent = operator_client.get(reverse("engine:page"), params).context["recent"]
        pages.append(recent)
        seen += recent.tasks
        if recent.older is None:
            break
        params = {"before": recent.older}

    assert seen == newest_first
    assert [len(p.tasks) for p in pages] == [3, 3, 1]
    assert pages[0].newer is None

    back = operator_client.get(reverse("engine:page"), {"after": pages[-1].newer})
    assert back.context["recent"].tasks == newest_first[3:6]


def test_cursor_round_trips_exactly() -> None:
    task = TaskFactory()
    cursor = Cursor.of(task)
    assert Cursor.decode(cursor.encode()) == cursor


def test_live_fragment_is_the_overview_without_the_layout(operator_client: Client) -> None:
    waiting_task()
    response = operator_client.get(reverse("engine:live"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Approval queue" in html
    assert "<html" not in html
    assert 'class="topbar"' not in html


def test_layout_links_every_section_and_marks_the_active_one(
    operator_client: Client, user: Any
) -> None:
    html = operator_client.get(reverse("engine:page")).content.decode()
    for name in (
        "chat:page",
        "selfheal:page",
        "logcrawler:page",
        "codehealth:page",
        "routing:page",
    ):
        assert f'href="{reverse(name)}"' in html
    assert f'href="{reverse("engine:page")}" class="active"' in html
    assert f'href="{reverse("api-docs")}"' in html
    assert 'id="connection-indicator"' in html
    assert f'action="{reverse("logout")}"' in html
    assert user.username in html
    assert f'href="{reverse("admin:index")}"' not in html, "only staff see the admin link"


def test_staff_see_the_admin_link(client: Client, staff: Any) -> None:
    client.force_login(staff)
    html = client.get(reverse("engine:page")).content.decode()
    assert f'href="{reverse("admin:index")}"' in html


def test_login_page_renders_and_signs_in(client: Client, user: Any) -> None:
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Sign in" in page.content

    response = client.post(
        reverse("login"), {"username": "alice", "password": "pw-alice-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("engine:page")


def test_logout_is_a_post(operator_client: Client) -> None:
    response = operator_client.post(reverse("logout"))
    assert response.status_code == 302
    assert operator_client.get(reverse("engine:page")).status_code == 302


def make_load(n_tasks: int, n_workers: int, n_waiting: int) -> None:
    workers = WorkerFactory.create_batch(n_workers)
    for i in range(n_tasks):
        state = [TaskState.PENDING, TaskState.DONE, TaskState.FAILED][i % 3]
        TaskFactory(state=state)
    for worker in workers:
        TaskFactory(state=TaskState.RUNNING, lease_worker=worker)
    for i in range(n_waiting):
        waiting_task(title=f"waiting {i}")


# Session, user, the user's permissions (their own and their groups'), counts, oldest
# pending, workers, approvals, recent tasks; one spare.
MAX_PAGE_QUERIES = 10


@pytest.mark.parametrize(("n_tasks", "n_workers", "n_waiting"), [(3, 1, 1), (90, 12, 15)])
def test_page_issues_a_bounded_number_of_queries(
    operator_client: Client,
    django_assert_max_num_queries: Any,
    n_tasks: int,
    n_workers: int,
    n_waiting: int,
) -> None:
    make_load(n_tasks, n_workers, n_waiting)
    operator_client.get(reverse("engine:page"))  # the session and user are loaded once

    with django_assert_max_num_queries(MAX_PAGE_QUERIES):
        response = operator_client.get(reverse("engine:page"))
    assert response.status_code == 200
    assert len(response.context["recent"].tasks) == min(
        views.RECENT_PAGE_SIZE, n_tasks + n_workers + n_waiting
    )

    with django_assert_max_num_queries(MAX_PAGE_QUERIES):
        operator_client.get(reverse("engine:live"))


def test_task_page_queries_do_not_grow_with_history(
    operator_client: Client, django_assert_max_num_queries: Any
) -> None:
    task = create_task(title="flappy", kind="echo").task
    for _ in range(10):
        operator_client.post(reverse("engine:cancel", args=[task.pk]))
        operator_client.post(reverse("engine:retry", args=[task.pk]))

    with django_assert_max_num_queries(8):  # 6, and the user's permissions
        response = operator_client.get(reverse("engine:task", args=[task.pk]))
    assert len(response.context["events"]) == 21


@pytest.mark.skipif(connection.vendor != "postgresql", reason="estimates come from PostgreSQL")
def test_large_tables_show_finished_counts_as_estimates(client, user) -> None:
    TaskFactory.create_batch(3, state=TaskState.DONE)
    TaskFactory(state=TaskState.PENDING)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE engine_task")

    result = Task.objects.dashboard_counts(exact_up_to=0)

    assert result.estimated == {"done", "failed", "cancelled"}
    assert result.counts["pending"] == 1  # live states stay exact
    assert result.counts["done"] == 3  # the statistics of a freshly analysed table


def test_small_tables_are_counted_exactly() -> None:
    TaskFactory(state=TaskState.DONE)

    result = Task.objects.dashboard_counts()

    assert result.estimated == frozenset()
    assert result.counts == Task.objects.counts_by_state()


def test_the_page_hides_other_peoples_chat_tasks(client, user, django_user_model) -> None:
    from engine.models import TaskSource

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    private = create_task(
        title="Chat #1: my salary question", kind="agent", source=TaskSource.CHAT, created_by=user
    ).task
    request_approval(task_id=private.pk, reason="run the dangerous tool?", actor="system:test")
    client.force_login(bob)

    page = client.get(reverse("engine:page")).content.decode()

    assert "salary" not in page and "dangerous tool" not in page
    assert client.get(reverse("engine:task", args=[private.pk])).status_code == 404


def test_another_users_chat_run_cannot_be_cancelled_from_the_page(
    client, user, django_user_model
) -> None:
    from engine.models import TaskSource

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    run = create_task(
        title="Chat #1: private", kind="agent", source=TaskSource.CHAT, created_by=user
    ).task
    client.force_login(bob)

    response = client.post(reverse("engine:cancel", args=[run.pk]))

    assert response.status_code == 404
    run.refresh_from_db()
    assert run.state == TaskState.PENDING


def test_approve_can_reroute_to_another_kind(client, user) -> None:
    from django.contrib.auth.models import Group

    task = create_task(title="restart", kind="ops.restart").task
    request_approval(task_id=task.pk, reason="no worker", actor="system:test")
    user.groups.add(Group.objects.get(name="approver"))  # an ops task is dangerous
    client.force_login(user)

    client.post(reverse("engine:approve", args=[task.pk]), {"reroute_kind": "echo"})

    task.refresh_from_db()
    assert (task.state, task.kind) == (TaskState.PENDING, "echo")
