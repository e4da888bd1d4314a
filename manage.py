#!/usr/bin/env python
"""manage.py for a checkout: reads the `.env` beside it (written by `make run`), then runs
Django's command line. Variables already in the environment win over the file."""

import sys
from pathlib import Path


def main() -> None:
    from config.env import load_env_file
    from config.manage import main as manage

    load_env_file(Path(__file__).resolve().parent / ".env")
    manage(sys.argv)


if __name__ == "__main__":
    main()
