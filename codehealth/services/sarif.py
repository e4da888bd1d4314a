"""A scan as SARIF 2.1.0: one run per tool that ran, each result with its fingerprint."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings

from codehealth.models import (
    FindingOccurrence,
    FindingSeverity,
    Repository,
    RepositoryKind,
    Scan,
    ToolRunOrigin,
    ToolRunStatus,
)
from codehealth.repositories.github_access import web_url

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
LEVELS: dict[str, str] = {
    FindingSeverity.CRITICAL: "error",
    FindingSeverity.HIGH: "error",
    FindingSeverity.MEDIUM: "warning",
    FindingSeverity.LOW: "note",
    FindingSeverity.INFO: "note",
}


def _result(row: FindingOccurrence, rule_index: int) -> dict[str, Any]:
    finding = row.finding
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS.get(row.severity, "warning"),
        "message": {"text": row.message or finding.rule},
        "partialFingerprints": {"juggernaut/v1": finding.fingerprint},
        "properties": {
            "finding": finding.pk,
            "kind": finding.kind,
            "severity": row.severity,
            "state": finding.state,
            "newCode": finding.is_new,
            "anchor": row.anchor,
        },
    }
    if row.confidence:
        result["properties"]["confidence"] = row.confidence
    if row.evidence:
        result["properties"]["evidence"] = row.evidence
    if row.path:
        location: dict[str, Any] = {"artifactLocation": {"uri": row.path, "uriBaseId": "SRCROOT"}}
        if row.line:
            region: dict[str, Any] = {"startLine": row.line}
            if row.column:
                region["startColumn"] = row.column
            if row.end_line and row.end_line >= row.line:
                region["endLine"] = row.end_line
            location["region"] = region
        result["locations"] = [{"physicalLocation": location}]
        if row.symbol:
            result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": row.symbol}]
    return result


def scan_to_sarif(scan: Scan) -> dict[str, Any]:
    repository = scan.repository
    by_tool: dict[str, list[FindingOccurrence]] = defaultdict(list)
    for row in FindingOccurrence.objects.filter(scan=scan).select_related("finding"):
        by_tool[row.finding.tool].append(row)
    runs = []
    for tool_run in scan.tool_runs.order_by("tool"):
        rows = by_tool.get(tool_run.tool, [])
        if tool_run.status == ToolRunStatus.SKIPPED and not rows:
            # A skipped tool with results was fed by the host (advisories by Dependabot).
            continue
        rules: dict[str, int] = {}
        rule_objects: list[dict[str, Any]] = []
        results = []
        for row in rows:
            rule = row.finding.rule
            if rule not in rules:
                rules[rule] = len(rule_objects)
                rule_object: dict[str, Any] = {"id": rule}
                if row.help_url:
                    rule_object["helpUri"] = row.help_url
                rule_objects.append(rule_object)
            results.append(_result(row, rules[rule]))
        invocation: dict[str, Any] = {"executionSuccessful": tool_run.status == ToolRunStatus.OK}
        if tool_run.exit_code is not None:
            invocation["exitCode"] = tool_run.exit_code
        notifications = [
            {"level": level, "message": {"text": text[:2000]}}
            for level, text in (("error", tool_run.error), ("warning", tool_run.partial))
            if text
        ]
        if notifications:
            invocation["toolExecutionNotifications"] = notifications
        if tool_run.origin == ToolRunOrigin.HOST:
            # Reported by the code host (its CI, its alerts), not run by us.
            invocation["properties"] = {"reportedBy": repository.kind, "url": tool_run.source_url}
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": tool_run.tool,
                        "version": tool_run.version.rsplit(" ", 1)[-1] or "unknown",
                        "fullName": tool_run.version or tool_run.tool,
                        "rules": rule_objects,
                        "properties": {"configurationHash": tool_run.config_hash},
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {"SRCROOT": {"description": {"text": repository.name}}},
                "versionControlProvenance": [
                    {
                        "repositoryUri": _repository_uri(repository),
                        "revisionId": scan.commit,
                    }
                ],
                "automationDetails": {"id": f"juggernaut/{repository.name}/scan-{scan.pk}"},
                "results": results,
            }
        )
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def _repository_uri(repository: Repository) -> str:
    if repository.kind == RepositoryKind.GITHUB:
        return f"{web_url(settings.GITHUB_API_URL)}/{repository.github_name}"
    return f"file://{repository.path}"
