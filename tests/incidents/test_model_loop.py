"""The loop with a model: a stand-in OpenRouter on 127.0.0.1 (the real wire format) plays
a model that reads the incident and the code its frames point at, and proposes a patch;
a person merges it; the service stops logging the error; the verifier verifies it after
the window; the error comes back: the same incident, regressed. And the honest failures:
an unreachable model fails the attempt, so the engine retries it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from chat.tools import ToolContext, tools
from codehealth.models import AutoPR, AutoPRState
from codehealth.services import merge_autopr
from engine.models import TaskState
from engine.worker import WorkerLoop
from incidents.models import Incident, IncidentState
from incidents.services.identity import service_user
from incidents.services.verification import verify_pass
from tests.factories import WorkerFactory
from tests.incidents.conftest import (
    FIXED_PRICING,
    Service,
    investigations,
    run_investigations,
)
from tests.routing.conftest import API_KEY
from tests.routing.fake_openrouter import FakeOpenRouter, Recorded, Reply, streamed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]

DIFF = "\n".join(
    [
        "--- a/shop/pricing.py",
        "+++ b/shop/pricing.py",
        '@@ -2,4 +2,4 @@ RATES = {"SE": 0.25, "DE": 0.19}',
        " ",
        " ",
        " def price(country, amount):",
        "-    return amount * (1 + RATES[country])",
        "+    return amount * (1 + RATES.get(country, 0))",
        "",
    ]
)


class InvestigatingModel(FakeOpenRouter):
    """Answers like a model working through the incident: detail, code, patch, summary."""

    def __init__(self) -> None:
        super().__init__()
        self._asked = threading.local()

    def record(self, request: Recorded) -> None:
        super().record(request)
        self._asked.body = request.body

    def next_reply(self, *, stream: bool = False) -> Reply:
        body = self._asked.body
        messages = body["messages"]
        incident_id = int(
            next(m for m in messages if m["role"] == "user")["content"].split("#")[1].split(":")[0]
        )
        done = [m for m in messages if m["role"] == "tool"]
        steps = [
            ("incident_detail", {"incident_id": incident_id}),
            ("code_read_file", {"repository": "shop", "path": "shop/pricing.py"}),
            (
                "incident_propose_patch",
                {
                    "incident_id": incident_id,
                    "repository": "shop",
                    "diff": DIFF,
                    "title": "Price unknown countries without tax instead of failing",
                },
            ),
        ]
        if len(done) < len(steps):
            name, arguments = steps[len(done)]
            call = {"id": f"call_{len(done)}", "name": name, "arguments": json.dumps(arguments)}
            return streamed(model=body["model"], tool_calls=[call])
        return streamed(["Proposed the fix; it waits for a person."], model=body["model"])


@pytest.fixture
def model(settings: Any) -> Iterator[InvestigatingModel]:
    fake = InvestigatingModel().start()
    settings.ROUTING_PROVIDER = "openrouter"
    settings.OPENROUTER_API_KEY = API_KEY
    settings.OPENROUTER_BASE_URL = fake.base_url
    yield fake
    fake.stop()


def build_autoprs() -> None:
    loop = WorkerLoop(worker=WorkerFactory(capabilities=["codehealth.autopr"]))
    while loop.run_once(only=["codehealth.autopr"]):
        pass


def test_a_model_proposes_a_patch_a_person_merges_it_and_the_fix_is_verified_then_regresses(
    service: Service, model: InvestigatingModel, staff: Any, settings: Any
) -> None:
    settings.INCIDENTS_VERIFY_MIN_MINUTES = 10
    start = timezone.now() - timedelta(minutes=30)
    for minute in range(0, 30, 10):
        service.log_error(start + timedelta(minutes=minute))
    service.crawl(timezone.now())
    (incident,) = Incident.objects.all()

    assert run_investigations() == 1

    (task,) = investigations()
    incident.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.result["outcome"] == "patch"
    assert incident.state == IncidentState.AWAITING_APPROVAL
    (session,) = incident.sessions.all()
    assert session.owner == service_user()
    autopr = AutoPR.objects.get()
    assert incident.fix == autopr
    assert session.events.filter(type="tool.finished").count() == 3, "its calls ran there"

    build_autoprs()
    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.PROPOSED, autopr.error
    merge_autopr(autopr_id=autopr.pk, user=staff)
    assert service.repo.git("show", f"{service.repository.default_branch}:shop/pricing.py") == (
        FIXED_PRICING.rstrip("\n")
    )

    report = verify_pass()
    incident.refresh_from_db()
    assert report.applied == [incident.pk]
    assert incident.state == IncidentState.VERIFYING
    window = incident.verify_until - incident.applied_at
    assert window == timedelta(minutes=50), "5 x the 10-minute gap, within 10 min .. 1 day"

    with time_machine.travel(incident.verify_until + timedelta(seconds=1)):
        report = verify_pass()
    incident.refresh_from_db()
    assert report.verified == [incident.pk]
    assert incident.state == IncidentState.VERIFIED
    assert {g.state for g in incident.fingerprints.all()} == {"resolved"}
    assert not incident.alerts.filter(state="firing").exists()

    with time_machine.travel(incident.verify_until + timedelta(minutes=5)):
        service.log_error(timezone.now())
        service.crawl(timezone.now())
    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.regressions == 1
    regressed = incident.events.get(to_state=IncidentState.REGRESSED)
    assert regressed.data["failed_fix"] == autopr.pk
    assert incident.state == IncidentState.INVESTIGATING
    assert len(investigations()) == 2


def test_an_unreachable_model_fails_the_attempt_and_the_engine_retries_it(
    service: Service, settings: Any
) -> None:
    settings.ROUTING_PROVIDER = "openrouter"
    settings.OPENROUTER_API_KEY = API_KEY
    settings.OPENROUTER_BASE_URL = "http://127.0.0.1:9/api/v1"  # nothing listens there
    settings.ROUTING_MAX_RETRIES = 0
    from routing.models import Policy

    Policy.objects.update(max_retries=1)  # one wait of a second inside the run
    service.log_error(timezone.now())
    service.crawl(timezone.now())

    loop = WorkerLoop(worker=WorkerFactory(capabilities=["incident.investigate"]))
    assert loop.run_once() is True

    (task,) = investigations()
    assert task.state == TaskState.PENDING, task.last_error
    assert task.attempts == 1
    assert "retry_budget: OpenRouter could not be reached" in task.last_error
    assert task.run_after > timezone.now()
    incident = Incident.objects.get()
    assert incident.state == IncidentState.INVESTIGATING
    assert incident.triage == ""

    with time_machine.travel(task.run_after + timedelta(seconds=1)):
        assert loop.run_once() is True
    task.refresh_from_db()
    assert (task.state, task.attempts) == (TaskState.PENDING, 2), "retried, not ended"
    (session,) = incident.sessions.all()
    assert session.events.filter(type="run.started").count() == 2, "the retry ran it again"


def test_the_service_identity_cannot_repair_without_approval(service: Service) -> None:
    user = service_user()
    repair = tools.get("selfheal_repair")
    context = ToolContext(session_id=1, owner_id=user.pk, mode="ops")

    assert repair.permission == "dangerous", "a repair always waits for a person's approval"
    assert repair.refused(context) is not None
    assert not user.is_staff and not user.is_superuser
    assert not user.has_perm("selfheal.run_repair")
    assert user.has_perm("incidents.investigate_incident")
