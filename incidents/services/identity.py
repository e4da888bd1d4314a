"""The service identity the investigating agent runs as: a user of its own, with listed
permissions, never staff or superuser. Its sessions' tools act as it, so anything that
changes the system (a repair, a merge, cancelling tasks) is refused to it or waits for a
person who holds the permission."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

SERVICE_USERNAME = "juggernaut-investigator"
SERVICE_GROUP = "incident investigators"
SERVICE_ACTOR = f"service:{SERVICE_USERNAME}"

# app_label.codename: what the investigator may do, and nothing else. Read: logs, groups,
# alerts, tasks, code and findings, diagnoses; write: its incident's triage and proposals.
SERVICE_PERMISSIONS = (
    "incidents.view_incident",
    "incidents.investigate_incident",
    "logcrawler.view_errorfingerprint",
    "logcrawler.view_logentry",
    "logcrawler.view_alert",
    "engine.view_task",
    "codehealth.view_repository",
    "codehealth.view_finding",
    "selfheal.view_playbookexecution",
)


def _permissions() -> list[Permission]:
    found = []
    for name in SERVICE_PERMISSIONS:
        app_label, codename = name.split(".")
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            found.append(permission)
    return found


@transaction.atomic
def service_user() -> User:
    """The investigator, made (with its group) the first time it is needed."""
    user = User.objects.filter(username=SERVICE_USERNAME).first()
    if user is not None:
        return user
    group, _ = Group.objects.get_or_create(name=SERVICE_GROUP)
    group.permissions.set(_permissions())
    user = User(username=SERVICE_USERNAME, is_active=True, is_staff=False, is_superuser=False)
    user.set_unusable_password()
    user.save()
    user.groups.add(group)
    return user
