from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings


def pytest_configure(config: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="alice", password="pw-alice-123")


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        username="olga", password="pw-olga-123", is_staff=True, is_superuser=True
    )


@pytest.fixture(autouse=True)
def _ledger_outbox_of_its_own(settings: Any, tmp_path: Any) -> Any:
    """A settlement the database refuses waits on disk (routing/services/outbox.py): each
    test gets its own folder, and no drain left over from it runs into the next test."""
    from routing.services.outbox import drainer

    settings.ROUTING_LEDGER_OUTBOX = tmp_path / "ledger-outbox"
    yield
    drainer.cancel()


@pytest.fixture(autouse=True)
def _no_public_package_index(settings: Any) -> None:
    """A scan asks no public package index from a test: only the tests that start a local
    one (tests/codehealth/fake_index.py) point the dependency audit at it."""
    settings.CODEHEALTH_PYPI_URL = ""
    settings.CODEHEALTH_NPM_URL = ""


@pytest.fixture(autouse=True)
def _fresh_limits() -> Any:
    """Throttles and sign-in limits count in the limits cache, across tests unless cleared."""
    from tests.limits import forget_limits

    forget_limits()
    yield
    forget_limits()


@pytest.fixture(autouse=True)
def _fresh_routing_lookups() -> Any:
    """Routing keeps policies, prices, health and blocks of reserved money, the token check
    keeps token owners, the gateway counts calls in the cache, in the process for a moment;
    a test's rows roll back without a signal, so no test may see another's."""
    from django.core.cache import cache

    from engine.token_cache import recent_owners
    from routing.services import lookups
    from routing.services.allowances import blocks

    lookups.clear_all()
    recent_owners.clear()
    blocks.forget()
    cache.clear()  # rate-limit counters (routing/gateway/throttle.py)
    yield
    lookups.clear_all()
    recent_owners.clear()
    blocks.forget()
    cache.clear()
