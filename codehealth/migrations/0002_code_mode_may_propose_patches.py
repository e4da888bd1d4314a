"""The code mode is offered code_propose_patch, a dangerous tool (each call waits for a
person's approval): its policy must allow the dangerous level. Other dangerous tools that
allow the code mode become available to it too, each still behind an approval.

Self-contained on purpose: a migration must not change meaning when app code changes later.
"""

from django.db import migrations


def allow(apps, schema_editor):
    Policy = apps.get_model("routing", "Policy")
    for policy in Policy.objects.filter(mode="code"):
        permissions = list(policy.tool_permissions or [])
        if "dangerous" not in permissions:
            policy.tool_permissions = [*permissions, "dangerous"]
            policy.save(update_fields=["tool_permissions"])


def disallow(apps, schema_editor):
    Policy = apps.get_model("routing", "Policy")
    for policy in Policy.objects.filter(mode="code"):
        permissions = [p for p in policy.tool_permissions or [] if p != "dangerous"]
        policy.tool_permissions = permissions
        policy.save(update_fields=["tool_permissions"])


class Migration(migrations.Migration):
    dependencies = [
        ("codehealth", "0001_initial"),
        ("routing", "0006_policy_output_tokens_at_least_one"),
    ]

    operations = [migrations.RunPython(allow, disallow)]
