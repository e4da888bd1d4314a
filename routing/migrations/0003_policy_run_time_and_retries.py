"""A policy also bounds an agent run: its wall time and its retries (before, two settings).

The seeded modes get limits that fit them: ops answers quickly, deep research takes its time.
Self-contained on purpose: a migration must not change meaning when app code changes later.
"""

import django.core.validators
from django.db import migrations, models

# mode: (max_seconds, max_retries)
RUN_LIMITS = {
    "normal": (300, 3),
    "deep_research": (1800, 5),
    "code": (900, 3),
    "ops": (120, 2),
}


def set_run_limits(apps, schema_editor):
    Policy = apps.get_model("routing", "Policy")
    for mode, (seconds, retries) in RUN_LIMITS.items():
        Policy.objects.filter(mode=mode).update(max_seconds=seconds, max_retries=retries)


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_default_policies_and_prices")]

    operations = [
        migrations.AddField(
            model_name="policy",
            name="max_seconds",
            field=models.PositiveIntegerField(
                default=300,
                help_text="Wall time of one agent run, in seconds (paused time does not count).",
                validators=[django.core.validators.MinValueValidator(1)],
            ),
        ),
        migrations.AddField(
            model_name="policy",
            name="max_retries",
            field=models.PositiveIntegerField(
                default=3,
                help_text="Failed calls an agent run may retry: model calls, and tool calls "
                "repeated with the same arguments.",
            ),
        ),
        migrations.RunPython(set_run_limits, migrations.RunPython.noop),
    ]
