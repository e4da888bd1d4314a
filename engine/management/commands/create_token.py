"""Print a new API token for a user; only the token goes to stdout, for scripts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.models import ApiToken
from engine.services import create_api_token

NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length or 100


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (it is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to recognise the token by.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        if len(name) > NAME_MAX_LENGTH:
            raise CommandError(f"--name is {len(name)} characters; at most {NAME_MAX_LENGTH}.")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; a token would not authenticate.")
        _, token = create_api_token(user=user, name=name)
        self.stdout.write(token)
