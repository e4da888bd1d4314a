"""An upstream that echoes the key it was sent (some do, in their auth errors) shows it to
nobody: not in the gateway's answer, the ledger, the model's health, the Routing page, the
admin, nor a chat event (issue 14). One mechanism does it: routing.redaction."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.urls import reverse

from chat.models import ChatEvent
from chat.services import post_message
from chat.services.loop import AgentLoop
from engine.services import create_api_token
from routing.models import ModelCall, ModelHealth
from routing.redaction import REDACTED, known_secrets, redact_text
from tests.chat.conftest import make_session
from tests.factories import UserFactory
from tests.routing.conftest import API_KEY
from tests.routing.fake_openrouter import FakeOpenRouter, error, streamed

pytestmark = [pytest.mark.usefixtures("routing_defaults")]

ASK = [{"role": "user", "content": "status?"}]
BEARER = "Bearer abcDEF0123456789ghijKLMN"  # a token shaped like one, known to nobody here


def echoing(status: int) -> Any:
    return error(status, f"Invalid credentials: {API_KEY} (header Authorization: {BEARER})")


def shown_anywhere(text: str) -> bool:
    return API_KEY in text or "abcDEF0123456789ghijKLMN" in text


def test_the_values_of_secret_settings_are_known(settings: Any) -> None:
    settings.RAILWAY_TOKEN = "3f2a9c1e-railway-token-value"
    settings.OPENROUTER_API_KEY = API_KEY
    settings.SOME_FEATURE_FLAG = "not-a-secret-at-all"

    secrets = known_secrets()

    assert "3f2a9c1e-railway-token-value" in secrets and API_KEY in secrets
    assert "not-a-secret-at-all" not in secrets
    # A UUID-shaped token matches no pattern: only knowing its value hides it.
    assert redact_text("railway says 3f2a9c1e-railway-token-value is bad") == (
        f"railway says {REDACTED} is bad"
    )


@pytest.mark.django_db(transaction=True)
def test_an_echoed_key_reaches_no_answer_row_page_or_admin(
    live_server: Any,
    client: Any,
    staff: Any,
    openrouter_settings: FakeOpenRouter,
    settings: Any,
) -> None:
    settings.ROUTING_MAX_RETRIES = 0
    openrouter_settings.script(echoing(401), echoing(502))
    token = create_api_token(user=UserFactory(), name="agent")[1]
    answers = [
        requests.post(
            f"{live_server.url}/v1/chat/completions",
            json={"model": "mode:ops", "messages": ASK},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [502, 502]
    for answer in answers:
        assert not shown_anywhere(answer.text) and REDACTED in answer.text
    rows = list(ModelCall.objects.all())
    assert len(rows) == 2 and all(REDACTED in row.error for row in rows)
    assert not any(shown_anywhere(row.error) for row in rows)
    assert not shown_anywhere(ModelHealth.objects.get(pk="openai/gpt-4o-mini").last_error)
    client.force_login(staff)
    pages = [
        reverse("routing:page"),
        reverse("admin:routing_modelcall_changelist"),
        reverse("admin:routing_modelcall_change", args=[rows[0].pk]),
        reverse("admin:routing_modelhealth_changelist"),
    ]
    for page in pages:
        html = client.get(page).content.decode()
        assert not shown_anywhere(html), page


@pytest.mark.django_db(transaction=True)
def test_an_echo_inside_a_stream_reaches_no_chat_event(
    user: Any, openrouter_settings: FakeOpenRouter
) -> None:
    failing = streamed(["Checking"], error_after=3)
    failing.events[-1] = failing.events[-1].replace("Provider disconnected", f"bad key {API_KEY}")
    openrouter_settings.script(failing)
    session = make_session(user)
    post_message(session_id=session.pk, user=user, content="what failed?", queue=False)

    AgentLoop(session.pk).run()

    events = list(ChatEvent.objects.filter(session=session).values_list("data", flat=True))
    assert events and not any(API_KEY in str(data) for data in events)
    assert any(REDACTED in str(data) for data in events)
