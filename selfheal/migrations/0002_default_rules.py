"""The auto-heal rules a new installation starts with; the admin edits or disables them."""

from django.db import migrations

DEFAULT_RULES = [
    {
        "name": "stuck-queue",
        "check_name": "task_queue",
        "min_severity": "warning",
        "playbook": "repair",
        "cooldown_minutes": 15,
        "max_runs_per_hour": 2,
    },
    {
        "name": "recurring-errors",
        "check_name": "error_patterns",
        "min_severity": "warning",
        "playbook": "repair",
        "cooldown_minutes": 60,
        "max_runs_per_hour": 1,
    },
]


def add_rules(apps, schema_editor):
    rule = apps.get_model("selfheal", "AutoHealRule")
    for values in DEFAULT_RULES:
        rule.objects.get_or_create(name=values["name"], defaults=values)


def remove_rules(apps, schema_editor):
    rule = apps.get_model("selfheal", "AutoHealRule")
    rule.objects.filter(name__in=[values["name"] for values in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("selfheal", "0001_initial")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
