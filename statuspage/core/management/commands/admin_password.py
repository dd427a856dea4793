"""Show the local admin's password again, or reset it: `manage.py admin_password [--reset]`.

`make run` keeps the password it generated in ``var/admin-password`` (readable by the
owner only) so it can be shown again after it scrolled away. Once someone changes the
password elsewhere the file no longer matches and is not shown; ``--reset`` then sets a
new random one.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

ADMIN_USERNAME = "admin"


def password_file() -> Path:
    return settings.VAR_DIR / "admin-password"


def password_keep(password: str) -> None:
    """Remember a generated password, for the owner of this checkout only."""
    path = password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(password + "\n")


def password_new() -> str:
    return secrets.token_urlsafe(12)


class Command(BaseCommand):
    help = "Show the admin password `make run` created, or set a new one with --reset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Set a new random password.")
        parser.add_argument("--username", default=ADMIN_USERNAME, help="Default: admin.")

    def handle(self, *args, reset: bool, username: str, **options) -> None:
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None and not reset:
            raise CommandError(f"no user {username!r}: `make run` creates it, or pass --reset")
        if reset:
            password = password_new()
            if user is None:
                user = users.create_superuser(username=username, email="", password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            if settings.DEBUG:
                password_keep(password)
            self.stdout.write(f"{username} / {password}   (new password set)")
            return
        path = password_file()
        kept = path.read_text().strip() if path.is_file() else ""
        if not kept or not user.check_password(kept):
            raise CommandError(
                f"the password of {username!r} was changed or not generated here: "
                "set a new one with `.venv/bin/python manage.py admin_password --reset`"
            )
        self.stdout.write(f"{username} / {kept}")
