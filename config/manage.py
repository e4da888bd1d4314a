"""Django's command line for Juggernaut, wherever it is installed.

The checkout's ``manage.py`` calls `main` after reading its ``.env``; an installed package
exposes it as the ``juggernaut`` console script, which reads no file: a deployment's
settings come from the environment alone (systemd's ``EnvironmentFile``, compose's
``env_file``), so a stray ``.env`` in a working directory never changes a production process.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv if argv is None else argv)


if __name__ == "__main__":
    main()
