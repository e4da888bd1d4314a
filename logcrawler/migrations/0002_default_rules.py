"""The alert rules a fresh install starts with; edit or disable them in the admin."""

from django.db import migrations

DEFAULT_RULES = [
    {
        "name": "New errors",
        "kind": "new_fingerprint",
        "min_level": "ERROR",
    },
    {
        "name": "Error spikes",
        "kind": "spike",
        "min_level": "ERROR",
        "window_minutes": 5,
        "baseline_minutes": 60,
        "factor": 3.0,
        "min_count": 10,
        "hold_minutes": 10,
    },
    {
        "name": "Sustained 5xx",
        "kind": "sustained_5xx",
        "window_minutes": 5,
        "min_count": 20,
        "threshold_share": 0.05,
        "for_minutes": 5,
        "hold_minutes": 10,
        "severity": "high",
    },
]


def add_rules(apps, schema_editor):
    AlertRule = apps.get_model("logcrawler", "AlertRule")
    for rule in DEFAULT_RULES:
        AlertRule.objects.get_or_create(name=rule["name"], defaults=rule)


def remove_rules(apps, schema_editor):
    AlertRule = apps.get_model("logcrawler", "AlertRule")
    AlertRule.objects.filter(name__in=[rule["name"] for rule in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("logcrawler", "0001_initial")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
