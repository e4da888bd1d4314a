"""A scan exported as SARIF 2.1.0 is valid against the official schema (vendored)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from codehealth.services import scan_to_sarif
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db
SCHEMA = json.loads((Path(__file__).parent / "data/sarif/sarif-schema-2.1.0.json").read_text())


def validate(log: dict[str, object]) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    jsonschema.Draft4Validator(SCHEMA).validate(log)


def test_a_scan_with_findings_is_valid_sarif(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({"pkg/app.py": "import os\n\n\ndef f(a=[]):\n    return a == None\n"})
    done = scan(register(repo))

    log = scan_to_sarif(done)

    validate(log)
    (ruff,) = [run for run in log["runs"] if run["tool"]["driver"]["name"] == "ruff"]
    results = ruff["results"]
    assert {r["ruleId"] for r in results} == {"F401", "B006", "E711"}
    e711 = next(r for r in results if r["ruleId"] == "E711")
    assert e711["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    assert e711["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "f"
    assert e711["partialFingerprints"]["juggernaut/v1"]
    assert ruff["tool"]["driver"]["rules"][e711["ruleIndex"]]["id"] == "E711"
    assert ruff["versionControlProvenance"][0]["revisionId"] == done.commit
    # Skipped tools have no run; vulture ran and found nothing (these tests ignore it).
    assert [run["tool"]["driver"]["name"] for run in log["runs"]] == ["ruff", "vulture"]


def test_a_failed_tool_is_a_notification_in_valid_sarif(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({"app.py": "X = 1\n"}, config='[tool.ruff.lint]\nselect = ["NOPE"]\n')
    done = scan(register(repo))

    log = scan_to_sarif(done)

    validate(log)
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["level"] == "error"
    assert log["runs"][0]["results"] == []


def test_the_schema_is_the_official_one_and_catches_a_bad_log() -> None:
    assert SCHEMA["id"].endswith("/sarif-schema-2.1.0.json")
    with pytest.raises(jsonschema.ValidationError):
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})
