"""The README's commands work as shown in a new shell after `make run`: the checkout's
manage.py reads the `.env` that `make run` wrote (pointing at the secret it generated), with
nothing exported. An installed package reads no such file, so a missing secret still stops it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import load_env_file

ROOT = Path(__file__).resolve().parents[2]
# What a new login shell has: no SECRET_KEY, no DATABASE_URL, nothing of this test run.
NEW_SHELL = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout's top as `make run` leaves it: manage.py, .env and var/secret_key."""
    top = tmp_path_factory.mktemp("checkout")
    make = ["make", "--no-print-directory", "-C", str(top), "-f", str(ROOT / "Makefile")]
    subprocess.run(
        [*make, ".env", "var/secret_key", f"PYTHON={sys.executable}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    shutil.copy(ROOT / "manage.py", top / "manage.py")
    return top


def new_shell(
    checkout: Path, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # The database goes in the temporary checkout's var/, as `make run` keeps it in its own.
    env = {**NEW_SHELL, "HOME": str(checkout), "JUGGERNAUT_VAR_DIR": str(checkout / "var")}
    return subprocess.run(
        [sys.executable, str(checkout / "manage.py"), *args],
        cwd=cwd or checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_make_run_writes_an_env_naming_its_secret(checkout: Path) -> None:
    lines = (checkout / ".env").read_text().splitlines()
    assert f"SECRET_KEY_FILE={checkout}/var/secret_key" in lines
    assert "SECURE_COOKIES=false" in lines
    assert (checkout / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert len((checkout / "var" / "secret_key").read_text().strip()) >= 50


def test_the_readme_commands_work_in_a_new_shell(checkout: Path, tmp_path: Path) -> None:
    for setup in (["migrate", "--noinput", "-v", "0"], ["ensure_admin"]):
        done = new_shell(checkout, *setup)
        assert done.returncode == 0, done.stderr

    token = new_shell(checkout, "create_token", "admin", cwd=tmp_path)  # from anywhere
    chat = new_shell(checkout, "chat", "list tasks", "--mode", "ops")
    worker = new_shell(checkout, "run_worker", "--capabilities", "echo,sleep", "--once")
    schedules = new_shell(checkout, "install_schedules")
    diagnose = new_shell(checkout, "diagnose")

    for done in (token, chat, worker, schedules):
        assert done.returncode == 0, done.stderr
    assert token.stdout.strip().startswith("jgt_")
    assert "session #1" in chat.stdout
    assert "nothing to claim" in worker.stdout
    assert "engine.detect_stuck_tasks" in schedules.stdout
    # 2 is a critical finding about this host (its disk, its load), not a failure to start.
    assert diagnose.returncode in {0, 2}, diagnose.stderr
    assert "Worst severity:" in diagnose.stdout


def test_an_installed_package_reads_no_env_file_and_wants_a_secret(checkout: Path) -> None:
    env = {**NEW_SHELL, "JUGGERNAUT_VAR_DIR": str(checkout / "var")}
    installed = subprocess.run(
        [sys.executable, "-m", "config.manage", "check"],
        cwd=checkout,  # a .env right here changes nothing
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert installed.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in installed.stderr


def test_exported_variables_win_over_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n\nJG_A=from-file\nJG_B = spaced \nJG_SECRET_FILE=/file/secret\nJG_KEY_FILE=/k\n"
    )
    monkeypatch.setenv("JG_A", "exported")
    monkeypatch.setenv("JG_SECRET", "exported-secret")  # the plain name beats the file's _FILE
    monkeypatch.setenv("JG_KEY", "exported-key")
    monkeypatch.setenv("JG_B", "")
    monkeypatch.delenv("JG_B")  # absent now, and again after the test

    assert load_env_file(dotenv) == ["JG_B"]
    assert os.environ["JG_A"] == "exported"
    assert os.environ["JG_B"] == "spaced"
    assert "JG_SECRET_FILE" not in os.environ


def test_a_broken_env_file_names_the_line(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("JG_GOOD=1\nexport BAD\n")
    with pytest.raises(ImproperlyConfigured, match=r"\.env:2"):
        load_env_file(dotenv)
    assert "JG_GOOD" not in os.environ  # nothing set from a file that does not parse
    assert load_env_file(tmp_path / "absent") == []
