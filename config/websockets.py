"""Websocket routes, assembled here from the apps that serve streams."""

from typing import Any

from django.urls import path

from chat.auth import TokenAuthMiddleware
from chat.consumers import OpsStreamConsumer, SessionStreamConsumer

websocket_urlpatterns: list[Any] = [
    path(
        "ws/chat/<int:session_id>/",
        TokenAuthMiddleware(SessionStreamConsumer.as_asgi()),
    ),
    path("ws/ops/", TokenAuthMiddleware(OpsStreamConsumer.as_asgi())),
]
