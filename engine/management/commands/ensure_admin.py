from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from engine.services.demo import ensure_admin_account


class Command(BaseCommand):
    help = "Create the first admin account with a random password, printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            User._meta.get_field("username").run_validators(username)
            if not username:
                raise ValidationError("it is empty")
        except ValidationError as exc:
            reason = " ".join(exc.messages)
            raise CommandError(f"--username {username!r} is not allowed: {reason}") from None
        account = ensure_admin_account(username=username)
        if account.password is None:
            self.stdout.write(f"Admin account {account.username!r} exists; log in with it.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                framed(
                    [
                        "Admin account created: sign in at /accounts/login/ with",
                        f"  Username: {account.username}",
                        f"  Password: {account.password}",
                        "This password is shown once. To set another:",
                        f"  .venv/bin/python manage.py changepassword {account.username}",
                    ]
                )
            )
        )


def framed(lines: list[str]) -> str:
    """Lines in a box, so the one thing to copy stands out of the start-up output."""
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 4) + "+"
    return "\n".join(["", rule, *(f"|  {line.ljust(width)}  |" for line in lines), rule, ""])
