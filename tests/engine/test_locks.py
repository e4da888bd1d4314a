from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from engine.services import job_lock
from engine.services.locks import acquire_job_lock, release_job_lock

pytestmark = pytest.mark.django_db


def test_a_held_lock_is_not_given_twice() -> None:
    with job_lock("stuck", ttl_seconds=60) as first, job_lock("stuck", ttl_seconds=60) as second:
        assert first and not second
    with job_lock("stuck", ttl_seconds=60) as again:
        assert again


def test_a_lock_whose_holder_died_expires() -> None:
    assert acquire_job_lock("job", ttl_seconds=30) is not None
    assert acquire_job_lock("job", ttl_seconds=30) is None
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        assert acquire_job_lock("job", ttl_seconds=30) is not None


def test_only_the_holder_releases() -> None:
    holder = acquire_job_lock("job", ttl_seconds=30)
    assert holder is not None
    release_job_lock("job", "someone-else")
    assert acquire_job_lock("job", ttl_seconds=30) is None
    release_job_lock("job", holder)
    assert acquire_job_lock("job", ttl_seconds=30) is not None
