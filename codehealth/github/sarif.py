"""SARIF files a workflow run uploaded as artifacts: listed, downloaded, unzipped, read.

Artifacts are zips served through a redirect to a storage host (see
`GitHubTransport.download`). Only artifacts whose name contains `match` are fetched (by
default "sarif", as upload steps tend to name them), expired or oversized ones are skipped
with the reason, and a zip's members are read only up to `max_unzipped_bytes` in all.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from codehealth.github.errors import GitHubError
from codehealth.github.reads import repo_path
from codehealth.github.transport import GitHubTransport
from codehealth.github.types import (
    Artifact,
    SarifArtifacts,
    SarifFile,
    SarifResult,
    SarifRun,
    SkippedArtifact,
)

SARIF_SUFFIXES = (".sarif", ".sarif.json")
DEFAULT_MAX_ARTIFACT_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_UNZIPPED_BYTES = 200 * 1024 * 1024


def _artifact(data: dict[str, Any]) -> Artifact:
    return Artifact(
        id=int(data["id"]),
        name=data.get("name") or "",
        size_in_bytes=int(data.get("size_in_bytes") or 0),
        expired=bool(data.get("expired")),
        workflow_run_id=(data.get("workflow_run") or {}).get("id"),
    )


def artifacts(http: GitHubTransport, full_name: str, run_id: int) -> list[Artifact]:
    rows = http.items(f"{repo_path(full_name)}/actions/runs/{run_id}/artifacts", key="artifacts")
    return [_artifact(row) for row in rows]


def _location(result: dict[str, Any]) -> tuple[str, int | None, int | None]:
    for location in result.get("locations") or ():
        physical = (location or {}).get("physicalLocation") or {}
        uri = (physical.get("artifactLocation") or {}).get("uri") or ""
        region = physical.get("region") or {}
        start = region.get("startLine")
        return uri, start, region.get("endLine", start)
    return "", None, None


def _message(result: dict[str, Any]) -> str:
    message = result.get("message") or {}
    return str(message.get("text") or message.get("markdown") or message.get("id") or "")


def parse_sarif(log: dict[str, Any]) -> tuple[SarifRun, ...]:
    """The runs and results of a SARIF 2.1.0 log (SARIF's default level is "warning")."""
    runs = []
    for run in log.get("runs") or ():
        driver = ((run or {}).get("tool") or {}).get("driver") or {}
        results = []
        for result in run.get("results") or ():
            path, start, end = _location(result)
            results.append(
                SarifResult(
                    rule_id=str(result.get("ruleId") or (result.get("rule") or {}).get("id") or ""),
                    level=str(result.get("level") or "warning"),
                    message=_message(result),
                    path=path,
                    start_line=start,
                    end_line=end,
                )
            )
        runs.append(
            SarifRun(
                tool_name=str(driver.get("name") or ""),
                tool_version=str(driver.get("semanticVersion") or driver.get("version") or ""),
                results=tuple(results),
            )
        )
    return tuple(runs)


def _unzip(artifact: Artifact, data: bytes, *, max_unzipped_bytes: int) -> list[SarifFile]:
    files = []
    budget = max_unzipped_bytes
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.lower().endswith(SARIF_SUFFIXES):
                continue
            budget -= member.file_size
            if budget < 0:
                raise GitHubError(f"artifact {artifact.name} unzips past {max_unzipped_bytes} B")
            log = json.loads(archive.read(member))
            if not isinstance(log, dict):
                raise ValueError(f"{member.filename} is not a SARIF log")
            files.append(SarifFile(artifact, member.filename, parse_sarif(log), log))
    return files


def sarif_artifacts(
    http: GitHubTransport,
    full_name: str,
    run_id: int,
    *,
    match: str = "sarif",
    max_artifact_bytes: int = DEFAULT_MAX_ARTIFACT_BYTES,
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
) -> SarifArtifacts:
    files: list[SarifFile] = []
    skipped: list[SkippedArtifact] = []
    for artifact in artifacts(http, full_name, run_id):
        if match.lower() not in artifact.name.lower():
            continue
        if artifact.expired:
            skipped.append(SkippedArtifact(artifact, "expired"))
            continue
        if artifact.size_in_bytes > max_artifact_bytes:
            skipped.append(SkippedArtifact(artifact, f"larger than {max_artifact_bytes} B"))
            continue
        data = http.download(
            f"{repo_path(full_name)}/actions/artifacts/{artifact.id}/zip",
            max_bytes=max_artifact_bytes,
        )
        try:
            found = _unzip(artifact, data, max_unzipped_bytes=max_unzipped_bytes)
        except (zipfile.BadZipFile, ValueError, GitHubError) as exc:
            skipped.append(SkippedArtifact(artifact, f"unreadable: {exc}"))
            continue
        if not found:
            skipped.append(SkippedArtifact(artifact, "no .sarif file inside"))
        files.extend(found)
    return SarifArtifacts(tuple(files), tuple(skipped))
