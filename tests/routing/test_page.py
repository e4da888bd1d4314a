"""The Routing page."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.routing.factories import ModelCallFactory, spend

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
    assert "chat:41" in html and "$0.25" in html  # the costliest session
    assert "812 ms" in html and "1,200 + 300" in html  # a recent call
    assert "routing/page.js" in html
    chart = response.context["chart"]
    assert len(chart["days"]) == 14 and chart["days"][-1] == now.date().isoformat()
    assert Decimal(chart["series"]["code"][-1]) == Decimal("0.25")
    assert Decimal(chart["series"]["ops"][-3]) == Decimal("0.01")
    data = json.loads(
        html.split('id="routing-chart-data" type="application/json">')[1].split("</script>")[0]
    )
    assert data["series"]["code"][-1] == "0.25"  # fixed-point, never 0E-12


def test_the_page_names_the_provider_but_never_the_key(
    client: Any, user: Any, settings: Any
) -> None:
    settings.ROUTING_PROVIDER = "auto"
    settings.OPENROUTER_API_KEY = "sk-or-v1-must-not-show"
    client.force_login(user)

    html = client.get(reverse("routing:page")).content.decode()

    assert "OpenRouter" in html and "Offline provider active" not in html
    assert "sk-or-v1-must-not-show" not in html


def test_every_amount_on_the_page_is_written_one_way(client: Any, user: Any) -> None:
    """Issue 15: the page mixed $0.1, $0.01, $0.0000 and $0.000000, and a meter showed 0E-8."""
    ModelCallFactory(mode="ops", session_ref="chat:5", cost=Decimal("0.00000000049"))
    client.force_login(user)

    html = client.get(reverse("routing:page")).content.decode()

    assert "$0.00000000049" in html  # a call too cheap for 8 places
    assert "$0.10" in html and "$0.001" in html  # the ops ceiling and its price cap
    for wrong in ("E-", "$0.0000<", "$0.000000<", "$0.1<"):
        assert wrong not in html


def test_spend_per_user_names_who_made_the_calls(client: Any, user: Any, staff: Any) -> None:
    ModelCallFactory(user=user, cost=Decimal("0.30"), api_token_prefix="jgt_abcdef")
    ModelCallFactory(user=user, cost=Decimal("0.20"))
    ModelCallFactory(user=staff, cost=Decimal("0.05"))
    ModelCallFactory(cost=Decimal("0.01"))  # a job's call: no user
    client.force_login(user)

    response = client.get(reverse("routing:page"))

    rows = {row["user__username"]: row for row in response.context["users"]}
    assert rows["alice"]["cost"] == Decimal("0.5") and rows["alice"]["calls"] == 2
    assert rows["olga"]["cost"] == Decimal("0.05")
    assert rows[None]["calls"] == 1
    table = response.content.decode().split('id="spend-per-user"')[1].split("</table>")[0]
    assert table.index("alice") < table.index("olga")  # dearest first
    assert "$0.50" in table and "no user" in table
    assert "jgt_abcdef…" in response.content.decode()  # the recent call names its token


def test_the_meter_passes_100_percent_only_by_a_reported_overrun_and_says_so(
    client: Any, user: Any
) -> None:
    client.force_login(user)
    spend(mode="ops", cost="1.25")  # ops allows $1.00 a day: a ceiling lowered after spending

    lowered = client.get(reverse("routing:page"))
    row = next(r for r in lowered.context["policies"] if r.policy.mode == "ops")
    assert (row.daily_used_percent, row.meter_value, row.overrun) == (100, 100, False)
    assert "over by" not in lowered.content.decode()

    spend(mode="ops", cost="0.10", overrun="0.07")
    reported = client.get(reverse("routing:page"))
    row = next(r for r in reported.context["policies"] if r.policy.mode == "ops")
    assert (row.daily_used_percent, row.meter_value, row.overrun) == (135, 100, True)
    html = reported.content.decode()
    assert "135%: over by $0.35, because a provider reported $0.07 more" in html


def test_a_chat_session_in_the_ledger_links_to_its_page(client: Any, user: Any) -> None:
    ModelCallFactory(mode="code", session_ref="chat:41", cost=Decimal("0.25"))
    ModelCallFactory(mode="code", session_ref="gateway:3:nightly", cost=Decimal("0.10"))
    client.force_login(user)

    html = client.get(reverse("routing:page")).content.decode()

    assert '<a href="/chat/41/">chat:41</a>' in html
    assert "gateway:3:nightly" in html and 'href="/chat/3' not in html
