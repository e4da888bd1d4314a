"""Dependabot and code-scanning alerts, when the token may read them.

GitHub answers 403 when the token lacks the permission or the feature is off ("Dependabot
alerts are disabled for this repository", "Advanced Security must be enabled") and 404 when
the token may not see the repository's alerts at all; both become `Alerts(available=False)`
with GitHub's words, so a scan can say "no access" rather than "no alerts". Code scanning's
404 "no analysis found" means the repository has never been analysed: no alerts, honestly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from codehealth.github.errors import Forbidden, NotFound
from codehealth.github.reads import repo_path
from codehealth.github.transport import GitHubTransport
from codehealth.github.types import Alerts, CodeScanningAlert, DependabotAlert

T = TypeVar("T")


def _dependabot(data: dict[str, Any]) -> DependabotAlert:
    dependency = data.get("dependency") or {}
    package = dependency.get("package") or {}
    advisory = data.get("security_advisory") or {}
    vulnerability = data.get("security_vulnerability") or {}
    patched = vulnerability.get("first_patched_version") or {}
    return DependabotAlert(
        number=int(data["number"]),
        state=data.get("state") or "",
        ecosystem=package.get("ecosystem") or "",
        package=package.get("name") or "",
        manifest_path=dependency.get("manifest_path") or "",
        severity=vulnerability.get("severity") or advisory.get("severity") or "",
        ghsa_id=advisory.get("ghsa_id") or "",
        cve_id=advisory.get("cve_id"),
        summary=advisory.get("summary") or "",
        vulnerable_version_range=vulnerability.get("vulnerable_version_range") or "",
        first_patched_version=patched.get("identifier"),
        html_url=data.get("html_url") or "",
    )


def _code_scanning(data: dict[str, Any]) -> CodeScanningAlert:
    rule = data.get("rule") or {}
    tool = data.get("tool") or {}
    instance = data.get("most_recent_instance") or {}
    location = instance.get("location") or {}
    return CodeScanningAlert(
        number=int(data["number"]),
        state=data.get("state") or "",
        rule_id=rule.get("id") or "",
        rule_severity=rule.get("severity"),
        security_severity=rule.get("security_severity_level"),
        description=rule.get("description") or "",
        tool_name=tool.get("name") or "",
        tool_version=tool.get("version"),
        path=location.get("path") or "",
        start_line=location.get("start_line"),
        end_line=location.get("end_line"),
        message=(instance.get("message") or {}).get("text") or "",
        html_url=data.get("html_url") or "",
    )


def _read(
    http: GitHubTransport,
    path: str,
    params: dict[str, Any],
    parse: Callable[[dict[str, Any]], T],
    *,
    never_analysed: str = "",
) -> Alerts[T]:
    try:
        return Alerts(True, tuple(parse(row) for row in http.items(path, params=params)))
    except NotFound as exc:
        if never_analysed and never_analysed in exc.message.lower():
            return Alerts(True, (), reason=exc.message, status=404)
        return Alerts(False, reason=f"no access: {exc.message}", status=404)
    except Forbidden as exc:
        return Alerts(False, reason=f"no access: {exc.message}", status=403)


def dependabot_alerts(
    http: GitHubTransport, full_name: str, *, state: str = "open"
) -> Alerts[DependabotAlert]:
    return _read(http, f"{repo_path(full_name)}/dependabot/alerts", {"state": state}, _dependabot)


def code_scanning_alerts(
    http: GitHubTransport, full_name: str, *, state: str = "open", ref: str | None = None
) -> Alerts[CodeScanningAlert]:
    params = {"state": state, **({"ref": ref} if ref else {})}
    return _read(
        http,
        f"{repo_path(full_name)}/code-scanning/alerts",
        params,
        _code_scanning,
        never_analysed="no analysis found",
    )
