"""Schemathesis against the API of a running server (Daphne, the project's ASGI stack, a
seeded database), with every check (tests/config/schemathesis.toml says which check is off
for which operation, and why): no 5xx, no undocumented status code or content type, no
answer off its schema, valid requests accepted and invalid ones refused.

Bounded for CI: a fixed seed, three examples per operation (about 260 requests), about
30 s. The full run, coverage phase included (about 2,000 requests), is in
docs/api.md ("Fuzzing the API")."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.apps import apps
from django.core.management import call_command

from engine.services import create_api_token
from tests.chat.live import Daphne

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
UNLIMITED = {f"API_RATE_{scope}": "off" for scope in ("PER_USER", "PER_WORKER", "FAILED_AUTH")}


@pytest.fixture
def server(staff: Any) -> Iterator[Daphne]:
    # The policies a migration installs, which an earlier test's flush may have removed.
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)
    call_command("seed_demo", verbosity=0)
    daphne = Daphne(layer="memory", extra_env=UNLIMITED)
    yield daphne
    daphne.stop()


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is a dev dependency")
def test_the_api_holds_to_its_schema_under_schemathesis(
    server: Daphne, staff: Any, tmp_path: Path
) -> None:
    _, token = create_api_token(user=staff, name="fuzz")
    auth = f"Authorization: Token {token}"
    schema = requests.get(
        f"{server.http}/api/schema/?format=json",
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_bytes(schema.content)

    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            str(tmp_path / "schema.json"),
            "--url",
            server.http,
            "-H",
            auth,
            "--phases",
            "examples,fuzzing,stateful",
            "--max-examples",
            "3",
            "--seed",
            "20261207",
            "--workers",
            "1",
            "--request-timeout",
            "30",
        ],
        cwd=tmp_path,  # schemathesis keeps its files where it runs
        capture_output=True,
        text=True,
        # About 30 s and 260 requests on a quiet machine; the bound is for a loaded one.
        timeout=600,
        check=False,
    )
    shutil.rmtree(tmp_path / ".schemathesis", ignore_errors=True)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failures" not in run.stdout.split("SUMMARY")[-1]
