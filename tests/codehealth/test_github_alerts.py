"""Dependabot and code-scanning alerts: read when the token may, "no access" when not."""

from __future__ import annotations

from codehealth.github import GitHubRepo
from tests.codehealth.fake_github import FakeGitHub, Scripted, secondary_limit


def _denial(status: int, message: str) -> Scripted:
    return Scripted(status, {"message": message, "documentation_url": "https://docs.github.com"})


def test_dependabot_alerts_are_read(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    assert [a.package for a in repo.dependabot_alerts().alerts] == ["ansible"]  # open ones
    found = repo.dependabot_alerts(state="dismissed")
    assert "state=dismissed" in fake_github.requests[-1].path
    assert found.available is True
    first = found.alerts[0]
    assert (first.number, first.state, first.ecosystem, first.package) == (
        2,
        "dismissed",
        "pip",
        "django",
    )
    assert first.ghsa_id == "GHSA-rf4j-j272-fj86"
    assert first.first_patched_version == "2.0.2"
    assert first.manifest_path == "path/to/requirements.txt"


def test_code_scanning_alerts_are_read(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    found = repo.code_scanning_alerts(ref="refs/heads/master")
    assert found.available is True
    first = found.alerts[0]
    assert (first.number, first.rule_id, first.tool_name) == (4, "js/zipslip", "CodeQL")
    assert first.path == "spec-main/api-session-spec.ts"
    assert "ref=refs%2Fheads%2Fmaster" in fake_github.requests[-1].path


def test_alerts_the_token_may_not_read_are_no_access(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    fake_github.dependabot_denial = _denial(
        403, "Dependabot alerts are disabled for this repository."
    )
    fake_github.code_scanning_denial = _denial(403, "Resource not accessible by integration")
    dependabot = repo.dependabot_alerts()
    assert (dependabot.available, dependabot.status) == (False, 403)
    assert dependabot.reason == "no access: Dependabot alerts are disabled for this repository."
    code_scanning = repo.code_scanning_alerts()
    assert code_scanning.available is False
    assert code_scanning.reason == "no access: Resource not accessible by integration"


def test_a_404_is_no_access_except_codeql_never_run(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    fake_github.dependabot_denial = _denial(404, "Not Found")
    fake_github.code_scanning_denial = _denial(404, "no analysis found")
    assert repo.dependabot_alerts().available is False
    never_analysed = repo.code_scanning_alerts()
    assert (never_analysed.available, never_analysed.alerts) == (True, ())
    assert never_analysed.reason == "no analysis found"


def test_a_rate_limit_on_alerts_is_waited_out_not_taken_for_no_access(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    fake_github.script(secondary_limit(retry_after=1, path="/dependabot/"))
    assert repo.dependabot_alerts().available is True
