from __future__ import annotations

from typing import Any

import pytest

from selfheal.models import AutoHealRule


@pytest.fixture
def no_rules(db: Any) -> None:
    """Start without the rules the data migration installs."""
    AutoHealRule.objects.all().delete()
