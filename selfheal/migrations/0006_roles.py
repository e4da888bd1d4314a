"""What each role may do in self-heal (docs/security.md, "Roles and permissions"). Reverts
were part of `run_repair` until `revert_execution` split them off: whoever held
`run_repair`, a user or a group, keeps being able to revert."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APP = "selfheal"
VIEWED = ["playbookexecution", "finding", "repairaction", "snapshot", "autohealrule"]
ROLES = {
    "viewer": [],
    "operator": ["run_repair", "revert_execution"],
    "approver": [],
    "admin": [
        "run_repair",
        "revert_execution",
        "add_autohealrule",
        "change_autohealrule",
        "delete_autohealrule",
    ],
}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    app_config = apps.get_app_config(APP)
    app_config.models_module = True  # create_permissions passes over apps without models
    create_permissions(app_config, apps=apps, verbosity=0, using=db)
    app_config.models_module = None
    ours = Permission.objects.using(db).filter(content_type__app_label=APP)
    repair, revert = ours.get(codename="run_repair"), ours.get(codename="revert_execution")
    for user in User.objects.using(db).filter(user_permissions=repair):
        user.user_permissions.add(revert)
    for group in Group.objects.using(db).filter(permissions=repair):
        group.permissions.add(revert)
    for role, codenames in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        wanted = [*codenames, *(f"view_{model}" for model in VIEWED)]
        group.permissions.add(*ours.filter(codename__in=wanted))


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.using(db).filter(name__in=ROLES):
        group.permissions.remove(
            *Permission.objects.using(db).filter(content_type__app_label=APP)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("selfheal", "0005_revert_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
