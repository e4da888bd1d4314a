"""The rule-based triage the offline provider's investigations end with: the groups, their
samples and times, the stack frames and the repository lines they point at."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from codehealth.errors import CodehealthError
from codehealth.models import Repository
from codehealth.services import read_file
from incidents.models import Incident

FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>\S+))?')
MAX_FRAMES = 5
MAX_GROUPS = 5
CONTEXT_LINES = 3


def stack_frames(text: str) -> list[dict[str, Any]]:
    """The Python frames of a traceback, innermost last, at most MAX_FRAMES (the deepest)."""
    frames = [
        {"path": m["path"], "line": int(m["line"]), "function": m["function"] or ""}
        for m in FRAME.finditer(text)
    ]
    return frames[-MAX_FRAMES:]


def _suffixes(path: str) -> list[str]:
    parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", "..", ".")]
    return ["/".join(parts[i:]) for i in range(len(parts)) if parts[i:]][-6:]


def locate(frame: dict[str, Any], repositories: list[Repository]) -> dict[str, Any] | None:
    """The repository file a frame's path names (its longest suffix that exists there), with
    the lines around the frame's line."""
    line = frame["line"]
    for repository in repositories:
        for candidate in _suffixes(frame["path"]):
            try:
                excerpt = read_file(
                    repository=repository,
                    path=candidate,
                    start_line=max(1, line - CONTEXT_LINES),
                    end_line=line + CONTEXT_LINES,
                )
            except CodehealthError:
                continue
            return {
                "repository": repository.name,
                "path": candidate,
                "commit": excerpt.commit,
                "start_line": excerpt.start_line,
                "text": excerpt.text,
            }
    return None


def offline_triage(incident: Incident) -> tuple[str, dict[str, Any]]:
    """The triage text and its data, from the incident's rows alone."""
    repositories = list(Repository.objects.all()[:5])
    groups = list(incident.fingerprints.order_by("first_seen")[:MAX_GROUPS])
    data: dict[str, Any] = {"groups": [], "provider": "offline"}
    lines = [
        "Offline triage (rules, no model): the offline provider cannot propose a fix, so "
        "this incident waits for a person."
    ]
    for group in groups:
        frames = stack_frames(group.sample_message)
        located = []
        for frame in frames:
            found = locate(frame, repositories)
            if found is not None:
                located.append({**frame, "code": found})
        data["groups"].append(
            {
                "id": group.pk,
                "service": group.service,
                "level": group.level,
                "template": group.template[:500],
                "first_seen": group.first_seen.isoformat(),
                "last_seen": group.last_seen.isoformat(),
                "count": group.total_count,
                "frames": frames,
                "located": located,
            }
        )
        lines.append(
            f"Group {group.pk} ({group.service or 'unknown service'}, {group.level}): "
            f"{group.total_count} occurrences since {group.first_seen:%Y-%m-%d %H:%M:%S} UTC, "
            f"last {group.last_seen:%Y-%m-%d %H:%M:%S} UTC. Template: {group.template[:300]}"
        )
        if located:
            where = located[-1]["code"]
            lines.append(
                f"  Likely where: {where['repository']}:{where['path']} line "
                f"{located[-1]['line']} (in {located[-1]['function'] or '?'}), the innermost "
                "frame found in a registered repository."
            )
        elif frames:
            inner = frames[-1]
            lines.append(
                f"  Innermost frame: {inner['path']} line {inner['line']}; no registered "
                "repository holds that file."
            )
        else:
            lines.append("  No stack frames in its sample.")
    findings = list(incident.findings.select_related("repository")[:MAX_GROUPS])
    for finding in findings:
        lines.append(
            f"Code-health finding #{finding.pk} ({finding.tool} {finding.rule}, "
            f"{finding.severity}) at {finding.repository.name}:{finding.path} line "
            f"{finding.line or '?'}: {finding.message[:300]}"
        )
    data["findings"] = [finding.pk for finding in findings]
    if not groups and not findings:
        lines.append("No error group is linked to this incident.")
    return "\n".join(lines), data
