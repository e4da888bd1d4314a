"""The site's error answers: JSON under /api/, a page in the site's layout elsewhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_api_still_answers_json(django_user_model: Any) -> None:
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="nina"))
    for path in ("/api/tasks/999999/", "/api/no-such-endpoint/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert "detail" in response.json()


def test_a_page_error_is_html_in_the_layout(django_user_model: Any) -> None:
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="nina"))
    response = client.get("/engine/tasks/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="topbar"' in html and 'href="/engine/"' in html
