"""Known vulnerabilities: the OSV snapshot's and Dependabot's, one finding per advisory;
"no data" (never zero) when nothing can say."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from codehealth.dependencies.osv import import_osv
from codehealth.models import Finding, FindingState, Repository, ToolRun
from codehealth.services import scan_to_sarif
from tests.codehealth.conftest import push, register, scan
from tests.codehealth.fake_github import FakeGitHub
from tests.codehealth.gitrepo import RUFF_CONFIG, GitRepo
from tests.codehealth.test_sarif import validate

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data" / "osv"
# GitHub's advisory for the ansible alert of the Dependabot example, as OSV has it.
ANSIBLE = {
    "id": "GHSA-8f4m-hccc-8qph",
    "modified": "2023-01-04T16:24:51Z",
    "aliases": ["CVE-2021-20191"],
    "summary": "Insertion of Sensitive Information into Log File in ansible",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "ansible"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.8.19"}]}],
        }
    ],
    "database_specific": {"severity": "MODERATE"},
}


def runs(done: object) -> dict[str, ToolRun]:
    return {r.tool: r for r in ToolRun.objects.filter(scan=done)}


def test_offline_without_a_snapshot_vulnerabilities_are_no_data(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"requirements.txt": "requests==2.30.0\n"})

    done = scan(register(repo))

    advisories, outdated = runs(done)["advisories"], runs(done)["outdated"]
    assert advisories.status == "skipped"
    assert advisories.skip_reason.startswith("no data: no OSV snapshot imported")
    assert outdated.status == "skipped" and "CODEHEALTH_PYPI_URL" in outdated.skip_reason


def test_a_vulnerable_pin_is_found_and_fixed_by_the_bump(
    make_repo: Callable[..., GitRepo],
) -> None:
    import_osv(DATA)
    repo = make_repo({"requirements.txt": "requests==2.30.0\nflask>=3\n"})
    repository = register(repo)

    done = scan(repository)

    (finding,) = Finding.objects.filter(repository=repository, tool="advisories")
    assert (finding.rule, finding.anchor, finding.kind) == (
        "GHSA-j8r2-6x86-q33q",
        "requests GHSA-j8r2-6x86-q33q",
        "dependency",
    )
    assert "requests 2.30.0 (PyPI) in requirements.txt" in finding.message
    assert "fixed in 2.31.0" in finding.message
    assert "source: OSV snapshot imported" in finding.message
    assert runs(done)["advisories"].version.startswith("OSV snapshot imported")
    assert any("not audited" in n and "flask" in n for n in done.notes)
    validate(scan_to_sarif(done))

    repo.write("requirements.txt", "requests==2.31.0\nflask>=3\n")
    repo.commit("bump requests")
    scan(repository)
    finding.refresh_from_db()
    assert finding.state == FindingState.FIXED


def test_one_advisory_from_dependabot_and_osv_is_one_finding(
    github_api: FakeGitHub, github_repository: Repository, tmp_path: Path
) -> None:
    (tmp_path / "ansible.json").write_text(json.dumps(ANSIBLE))
    import_osv(tmp_path / "ansible.json")
    push(github_api, {"pyproject.toml": RUFF_CONFIG, "requirements.txt": "ansible==2.8.0\n"})

    done = scan(github_repository)

    (finding,) = Finding.objects.filter(repository=github_repository, tool="advisories")
    assert (finding.kind, finding.rule) == ("dependency", "GHSA-8f4m-hccc-8qph")
    assert "source: OSV snapshot imported" in finding.message
    assert "Dependabot" in finding.message
    by_tool = runs(done)
    assert (by_tool["advisories"].findings, by_tool["dependabot"].findings) == (1, 1)
    sarif = scan_to_sarif(done)
    validate(sarif)
    results = [r["ruleId"] for run in sarif["runs"] for r in run["results"]]
    assert results.count("GHSA-8f4m-hccc-8qph") == 1


def test_an_alert_dependabot_closed_is_fixed_without_any_snapshot(
    github_api: FakeGitHub, github_repository: Repository
) -> None:
    push(github_api, {"pyproject.toml": RUFF_CONFIG, "requirements.txt": "ansible==2.8.0\n"})
    scan(github_repository)
    finding = Finding.objects.get(repository=github_repository, tool="advisories")
    assert "source: Dependabot" in finding.message

    for alert in github_api.dependabot:
        alert["state"] = "fixed"
    scan(github_repository)

    finding.refresh_from_db()
    assert finding.state == FindingState.FIXED
