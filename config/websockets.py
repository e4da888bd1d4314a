"""Websocket routes, assembled here from the apps that serve streams."""

from typing import Any

websocket_urlpatterns: list[Any] = []
