"""Factories for the rows tests need; every app's tests build on these."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from engine.models import Task, TaskState, Worker, WorkerState


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


class TaskFactory(factory.django.DjangoModelFactory):
    """A row as it would stand in the database; use `create_task` to go through the rules."""

    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"task {n}")
    kind = "echo"
    payload = factory.LazyFunction(dict)
    priority = 50
    state = TaskState.PENDING
