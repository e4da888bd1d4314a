from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from chat.models import ChatSession
from tests.chat.conftest import make_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get("/chat/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_without_sessions_the_page_offers_to_start_one(client: Client, user: Any) -> None:
    client.force_login(user)
    response = client.get("/chat/")
    assert response.status_code == 200
    assert b"No session yet" in response.content and b"chat-data" not in response.content


def test_the_page_opens_the_newest_session(client: Client, user: Any) -> None:
    make_session(user)
    newest = make_session(user)
    client.force_login(user)
    assert client.get("/chat/")["Location"] == f"/chat/{newest.pk}/"


def test_a_session_page_hands_its_snapshot_to_the_script(client: Client, user: Any) -> None:
    session = make_session(user, mode="ops")
    session.messages.create(role="user", content="hello <b>")
    client.force_login(user)

    response = client.get(f"/chat/{session.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'src="/static/chat/chat_page.js"' in html
    assert "hello <b>" not in html, "message text only travels inside the JSON, escaped"
    data = json.loads(
        html.split('id="chat-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert data["session"]["id"] == session.pk and data["messages"][0]["content"] == "hello <b>"
    assert data["urls"]["ws"] == f"/ws/chat/{session.pk}/"
    assert data["urls"]["task"] == "/engine/tasks/{id}/"
    assert set(data["schema"]["types"]) >= {"message.delta", "run.stopped"}
    assert 'src="/static/chat/connection.js"' in html


def script_data(html: str, element_id: str) -> Any:
    return json.loads(
        html.split(f'id="{element_id}" type="application/json">', 1)[1].split("</script>")[0]
    )


def test_the_session_list_is_drawn_as_the_live_script_draws_it(
    client: Client, user: Any, other: Any
) -> None:
    stopped = make_session(user, mode="code", state="stopped", stop_reason="step_budget")
    current = make_session(user, mode="ops", title="night shift")
    make_session(other, title="not yours")
    client.force_login(user)

    html = client.get(f"/chat/{current.pk}/").content.decode()

    assert "not yours" not in html
    assert f'<li data-session="{current.pk}" data-state="idle" class="is-current">' in html
    assert '<span class="mode">Code</span> · <span class="state">Stopped</span>' in html
    assert '<span class="reason">: Step budget reached</span>' in html
    assert html.count('class="reason"') == 1, "an idle session's completed run needs no reason"
    assert f'href="/chat/{stopped.pk}/"' in html
    assert '<script type="module" src="/static/chat/session_list.js">' in html
    listing = script_data(html, "chat-list-data")
    assert (listing["current"], listing["url"], listing["limit"]) == (current.pk, "/chat/{id}/", 30)
    assert (
        listing["modes"]["ops"] == "Ops"
        and listing["reasons"]["step_budget"] == "Step budget reached"
    )
    assert listing["reason_shown"] == ["stopped", "error"]


def test_the_empty_page_still_listens_for_new_sessions(client: Client, user: Any) -> None:
    client.force_login(user)
    html = client.get("/chat/").content.decode()
    assert 'src="/static/chat/session_list.js"' in html
    assert script_data(html, "chat-list-data")["current"] is None


def test_another_users_session_is_a_404(client: Client, user: Any, other: Any) -> None:
    theirs = make_session(other)
    client.force_login(user)
    assert client.get(f"/chat/{theirs.pk}/").status_code == 404


def test_new_session_form(client: Client, user: Any) -> None:
    client.force_login(user)
    response = client.post("/chat/new/", {"mode": "code"})
    session = ChatSession.objects.get(owner=user)
    assert response["Location"] == f"/chat/{session.pk}/" and session.mode == "code"
    assert client.post("/chat/new/", {"mode": "warp"}).status_code == 400


@pytest.mark.parametrize("model", ["chatsession", "chatmessage", "toolexecution", "chatevent"])
def test_the_admin_lists_chat_rows_read_only(
    client: Client, staff: Any, user: Any, model: str
) -> None:
    from chat.services import publish

    session = make_session(user)
    session.messages.create(role="user", content="hi")
    publish(session.pk, "error", {"message": "x", "code": "y"})
    client.force_login(staff)

    response = client.get(f"/admin/chat/{model}/")

    assert response.status_code == 200
    assert client.get(f"/admin/chat/{model}/add/").status_code == 403
