"""Job locks: at most one run of a periodic job at a time, across processes and machines."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from engine.models import JobLock


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_job_lock(name: str, *, ttl_seconds: int) -> str | None:
    """Take the lock if it is free or its holder's time ran out; the holder id, or None."""
    now = timezone.now()
    holder = _holder()
    expires = now + timedelta(seconds=ttl_seconds)
    taken = JobLock.objects.filter(Q(name=name) & (Q(expires_at__lt=now) | Q(holder=""))).update(
        holder=holder, expires_at=expires
    )
    if taken:
        return holder
    try:
        with transaction.atomic():
            JobLock.objects.create(name=name, holder=holder, expires_at=expires)
    except IntegrityError:
        return None
    return holder


def release_job_lock(name: str, holder: str) -> None:
    JobLock.objects.filter(name=name, holder=holder).update(holder="", expires_at=timezone.now())


@contextmanager
def job_lock(name: str, *, ttl_seconds: int) -> Iterator[bool]:
    """``with job_lock("x", ttl_seconds=60) as acquired: if acquired: ...``"""
    holder = acquire_job_lock(name, ttl_seconds=ttl_seconds)
    try:
        yield holder is not None
    finally:
        if holder is not None:
            release_job_lock(name, holder)
