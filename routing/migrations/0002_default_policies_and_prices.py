"""Seed a policy per mode and the shipped price snapshot, so costs are known offline.

Self-contained on purpose: a migration must not change meaning when app code changes later.
"""

import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations
from django.utils import timezone

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "models_snapshot.json"

POLICIES = [
    {
        "mode": "normal",
        "model": "openrouter/auto",
        "fallback_models": ["openai/gpt-4o-mini", "meta-llama/llama-3.1-70b-instruct"],
        "max_price_per_1k": Decimal("0.01"),
        "max_iterations": 10,
        "max_output_tokens": 1024,
        "session_ceiling": Decimal("0.50"),
        "daily_ceiling": Decimal("5.00"),
        "tool_permissions": ["read", "write"],
    },
    {
        "mode": "deep_research",
        "model": "anthropic/claude-3-opus",
        "fallback_models": ["anthropic/claude-3.5-sonnet", "openai/gpt-4o"],
        "max_price_per_1k": Decimal("0.10"),
        "max_iterations": 50,
        "max_output_tokens": 4096,
        "session_ceiling": Decimal("10.00"),
        "daily_ceiling": Decimal("50.00"),
        "tool_permissions": ["read"],
    },
    {
        "mode": "code",
        "model": "anthropic/claude-3.5-sonnet",
        "fallback_models": ["openai/gpt-4o", "deepseek/deepseek-chat"],
        "max_price_per_1k": Decimal("0.03"),
        "max_iterations": 20,
        "max_output_tokens": 4096,
        "session_ceiling": Decimal("3.00"),
        "daily_ceiling": Decimal("20.00"),
        "tool_permissions": ["read", "write"],
    },
    {
        "mode": "ops",
        "model": "openai/gpt-4o-mini",
        "fallback_models": ["meta-llama/llama-3.1-8b-instruct", "google/gemini-flash-1.5"],
        "max_price_per_1k": Decimal("0.001"),
        "max_iterations": 5,
        "max_output_tokens": 1024,
        "session_ceiling": Decimal("0.10"),
        "daily_ceiling": Decimal("1.00"),
        "tool_permissions": ["read", "write", "dangerous"],
    },
]


def seed(apps, schema_editor):
    Policy = apps.get_model("routing", "Policy")
    ModelPrice = apps.get_model("routing", "ModelPrice")
    for fields in POLICIES:
        Policy.objects.get_or_create(mode=fields["mode"], defaults=fields)
    now = timezone.now()
    for raw in json.loads(SNAPSHOT.read_text())["data"]:
        prompt = Decimal(raw["pricing"]["prompt"])
        completion = Decimal(raw["pricing"]["completion"])
        variable = prompt < 0 or completion < 0
        ModelPrice.objects.get_or_create(
            model_id=raw["id"],
            defaults={
                "name": raw.get("name", ""),
                "context_length": raw.get("context_length") or 0,
                "prompt_price": Decimal(0) if variable else prompt,
                "completion_price": Decimal(0) if variable else completion,
                "variable_pricing": variable,
                "supported_parameters": raw.get("supported_parameters") or [],
                "source": "snapshot",
                "updated_at": now,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("routing", "Policy").objects.filter(
        mode__in=[p["mode"] for p in POLICIES]
    ).delete()
    apps.get_model("routing", "ModelPrice").objects.filter(source="snapshot").delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
