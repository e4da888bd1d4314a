from __future__ import annotations

from typing import Any

import pytest

from selfheal.models import AutoHealRule


@pytest.fixture(autouse=True)
def selfheal_alone(monkeypatch: Any) -> None:
    """The repair's own fix tasks, not the opener (nor the repair listener) the incidents
    app registers above it: tests/incidents covers those."""
    from selfheal import fixes, repairs

    monkeypatch.setattr(fixes, "_fix_opener", [])
    monkeypatch.setattr(repairs, "_repair_listener", [])


@pytest.fixture
def no_rules(db: Any) -> None:
    """Start without the rules the data migration installs."""
    AutoHealRule.objects.all().delete()
