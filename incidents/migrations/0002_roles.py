"""What each role may do with incidents (docs/security.md, "Roles and permissions")."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APP = "incidents"
VIEWED = ["incident", "incidentevent"]
ROLES = {
    "viewer": [],
    "operator": ["decide_incident"],
    "approver": ["decide_incident"],
    "admin": ["decide_incident"],
}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_config = apps.get_app_config(APP)
    app_config.models_module = True  # create_permissions passes over apps without models
    create_permissions(app_config, apps=apps, verbosity=0, using=db)
    app_config.models_module = None
    for role, codenames in ROLES.items():
        group, _ = Group.objects.using(db).get_or_create(name=role)
        wanted = [*codenames, *(f"view_{model}" for model in VIEWED)]
        group.permissions.add(
            *Permission.objects.using(db).filter(content_type__app_label=APP, codename__in=wanted)
        )


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
        ("incidents", "0001_incidents_and_history"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
