"""The Routing page: policies, spend per mode per day, the costliest sessions, recent calls."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from routing.models import ModelCall
from routing.services import provider_status
from routing.services.overview import policy_rows, spend_chart

CHART_DAYS = 14
RECENT_CALLS = 30
USER_DAYS = 30


def page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "title": "Model routing",
        "provider": provider_status(),
        "policies": policy_rows(today=now.date()),
        "chart": spend_chart(days=CHART_DAYS, now=now),
        "chart_days": CHART_DAYS,
        "sessions": ModelCall.objects.most_expensive_sessions(limit=10),
        "users": ModelCall.objects.since(now - timedelta(days=USER_DAYS)).spend_by_user(),
        "user_days": USER_DAYS,
        "calls": ModelCall.objects.select_related("user").recent(limit=RECENT_CALLS),
    }
    return render(request, "routing/page.html", context)
