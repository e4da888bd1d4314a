"""Factories for the rows tests need; every app's tests build on these."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from engine.models import Task, TaskState, Worker, WorkerState
from engine.services import create_api_token


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-test-123")


class WorkerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Worker

    name = factory.Sequence(lambda n: f"worker-{n}")
    capabilities = factory.LazyFunction(lambda: ["echo"])
    max_concurrency = 1
    state = WorkerState.ONLINE
    last_heartbeat_at = factory.LazyFunction(timezone.now)
    # An operator's worker, trusted with everyone's tasks; a user's own worker is
    # WorkerFactory(shared=False, registered_by=user) (docs/security.md).
    shared = True


class TaskFactory(factory.django.DjangoModelFactory):
    """A row as it would stand in the database; use `create_task` to go through the rules."""

    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"task {n}")
    kind = "echo"
    payload = factory.LazyFunction(dict)
    priority = 50
    state = TaskState.PENDING


def api_client_for(user: Any) -> APIClient:
    """A REST client that authenticates with a new API token of `user`'s."""
    _, token = create_api_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client
