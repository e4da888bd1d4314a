from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parents[2]
ENV_READER = re.compile(r"env_(?:str|bool|int|list|rate)\(\s*\"([A-Z][A-Z0-9_]*)\"")


def _documented() -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", text, flags=re.MULTILINE))


def _read_in_code() -> set[str]:
    names = set(env.READ_VARIABLES)
    for path in ROOT.glob("*/**/*.py"):
        top = path.parts[len(ROOT.parts)]
        if top.startswith(".") or top in {"tests", "bench", "build"}:  # .venv, .tools: not ours
            continue
        names.update(ENV_READER.findall(path.read_text()))
    return names


def test_every_variable_read_is_documented() -> None:
    missing = _read_in_code() - _documented()
    assert not missing, f"read but not in docs/configuration.md: {sorted(missing)}"


def test_no_module_reads_the_environment_behind_config_env() -> None:
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        top = path.parts[len(ROOT.parts)]
        if (
            top.startswith(".")
            or top in {"tests", "bench", "build"}
            or path == ROOT / "config" / "env.py"
            # Runs inside the scanned project, pointing Django at that project's settings.
            or path == ROOT / "codehealth" / "scanners" / "contract_probe.py"
        ):
            continue
        if re.search(
            r"os\.environ(?!\.setdefault\(\"DJANGO_SETTINGS_MODULE\")|os\.getenv", path.read_text()
        ):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("off", False), ("", False)]
)
def test_env_bool_accepts_common_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("JG_FLAG", raw)
    assert env.env_bool("JG_FLAG") is expected


def test_env_bool_rejects_nonsense_with_the_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JG_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="JG_FLAG"):
        env.env_bool("JG_FLAG")


def test_env_int_enforces_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JG_N", "2")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env.env_int("JG_N", 10, minimum=5)


def test_file_variant_supplies_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("JG_SECRET_FILE", str(secret))
    assert env.env_str("JG_SECRET") == "s3cr3t"


def test_database_url_parsing() -> None:
    pg = env.parse_database_url("postgres://u:p%40ss@db.example:5433/jug?sslmode=require")
    assert (pg.engine, pg.name, pg.user, pg.password, pg.host, pg.port) == (
        "django.db.backends.postgresql",
        "jug",
        "u",
        "p@ss",
        "db.example",
        "5433",
    )
    assert pg.options == {"sslmode": "require"}
    assert env.parse_database_url("sqlite:////srv/x.db").name == "/srv/x.db"
    with pytest.raises(ImproperlyConfigured, match="scheme"):
        env.parse_database_url("mysql://x/y")


def _run_manage(*args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}
    }
    # The installed package's command: it reads no .env, which `make run` may have written.
    return subprocess.run(
        [sys.executable, "-m", "config.manage", *args],
        cwd=ROOT,
        env={**clean, **extra_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_start_without_secret_key_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_manage("check", extra_env={"JUGGERNAUT_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_check_deploy_passes_with_production_values(tmp_path: Path) -> None:
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        extra_env={
            "JUGGERNAUT_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 20 + "-production-like-secret-key-with-enough-entropy-9f8e7d",
            "ALLOWED_HOSTS": "ops.example.com",
            "SECURE_COOKIES": "true",
            "SECURE_SSL_REDIRECT": "true",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_HSTS_PRELOAD": "true",
            "BEHIND_TLS_PROXY": "true",
        },
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("300/minute", "300/minute"), ("5/s", "5/s"), (" 10/Hour ", "10/hour"), ("off", None)],
)
def test_env_rate_reads_drfs_notation(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: str | None
) -> None:
    monkeypatch.setenv("JG_RATE", raw)
    assert env.env_rate("JG_RATE", "1/s") == expected


@pytest.mark.parametrize("raw", ["300", "0/minute", "ten/minute", "5/fortnight", ""])
def test_env_rate_refuses_nonsense_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("JG_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="JG_RATE"):
        env.env_rate("JG_RATE", "1/s")


def test_the_sqlite_file_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    import sqlite3

    from config import settings as project_settings

    path = tmp_path / "db" / "juggernaut.sqlite3"
    project_settings._sqlite(str(path))
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    try:
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        modes = {file.name: oct(file.stat().st_mode & 0o777) for file in files}
    finally:
        connection.close()

    assert set(modes.values()) == {"0o600"}, modes
