"""The Routing page."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.routing.factories import ModelCallFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]


def test_the_page_needs_a_login(client: Any) -> None:
    response = client.get(reverse("routing:page"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_shows_policies_spend_sessions_and_calls(
    client: Any, user: Any, settings: Any
) -> None:
    settings.ROUTING_PROVIDER = "offline"
    now = timezone.now()
    ModelCallFactory(
        mode="code",
        session_ref="chat:41",
        cost=Decimal("0.25"),
        model="anthropic/claude-3.5-sonnet",
        prompt_tokens=1200,
        completion_tokens=300,
        latency_ms=812,
    )
    ModelCallFactory(
        mode="ops", session_ref="chat:42", cost=Decimal("0.01"), created_at=now - timedelta(days=2)
    )
    client.force_login(user)

    response = client.get(reverse("routing:page"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Offline provider active" in html
    assert "anthropic/claude-3-opus" in html and "openrouter/auto" in html  # policies
    assert "Run time" in html and "1800 s" in html and "120 s" in html  # an agent run's limits
    assert "chat:41" in html and "$0.2500" in html  # the costliest session
    assert "812 ms" in html and "1,200 + 300" in html  # a recent call
    assert "routing/page.js" in html
    chart = response.context["chart"]
    assert len(chart["days"]) == 14 and chart["days"][-1] == now.date().isoformat()
    assert Decimal(chart["series"]["code"][-1]) == Decimal("0.25")
    assert Decimal(chart["series"]["ops"][-3]) == Decimal("0.01")
    data = json.loads(
        html.split('id="routing-chart-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["series"]["code"][-1] == "0.25000000"


def test_the_page_names_the_provider_but_never_the_key(
    client: Any, user: Any, settings: Any
) -> None:
    settings.ROUTING_PROVIDER = "auto"
    settings.OPENROUTER_API_KEY = "sk-or-v1-must-not-show"
    client.force_login(user)

    html = client.get(reverse("routing:page")).content.decode()

    assert "OpenRouter" in html and "Offline provider active" not in html
    assert "sk-or-v1-must-not-show" not in html
