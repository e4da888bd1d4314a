"""The roles (groups) viewer, operator, approver and admin, and what each may do in the
engine; each app grants its own permissions to them in its own migration (docs/security.md,
"Roles and permissions"). Staff accounts that exist already (not superusers) join operator,
whose rights are closest to what staff could do before permissions were checked."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APP = "engine"
VIEWED = ["task", "taskevent", "worker", "joblock"]
ROLES = {
    "viewer": [],
    "operator": ["decide_others_task"],
    "approver": ["decide_others_task", "approve_dangerous_task"],
    "admin": [
        "decide_others_task",
        "approve_dangerous_task",
        "change_task",
        "change_worker",
        "view_apitoken",
        "change_apitoken",
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
    for role, codenames in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        wanted = [*codenames, *(f"view_{model}" for model in VIEWED)]
        permissions = Permission.objects.using(db).filter(
            content_type__app_label=APP, codename__in=wanted
        )
        group.permissions.add(*permissions)
    operator = Group.objects.using(db).get(name="operator")
    for user in User.objects.using(db).filter(is_staff=True, is_superuser=False):
        user.groups.add(operator)


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
        ("engine", "0003_worker_shared_task_dangerous_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
