"""What the code host reported about a commit (its CI, its alerts), made ready to be a
scan's tool runs: one run per tool name, never one of our own scanners' names.

A host's tool named like one of ours (a CI job called "ruff") is kept apart as
``ci:ruff``: the two would otherwise close each other's findings. Two reports under one
name (a check run and a SARIF upload both called "CodeQL") become one tool run.
"""

from __future__ import annotations

from collections.abc import Iterable

from codehealth.normal_form import ReportedRun

TOOL_NAME_LENGTH = 50
HOST_PREFIX = "ci:"


def _name(tool: str, reserved: set[str]) -> str:
    name = tool.strip()[:TOOL_NAME_LENGTH] or "ci"
    if name.lower() in reserved:
        name = f"{HOST_PREFIX}{name}"[:TOOL_NAME_LENGTH]
    return name


def _joined(*texts: str) -> str:
    return "; ".join(t for t in texts if t)


def _merge(into: ReportedRun, run: ReportedRun) -> None:
    """Skipped only if both were; partial or failed if either was."""
    both_skipped = bool(into.skip_reason and run.skip_reason)
    into.skip_reason = _joined(into.skip_reason, run.skip_reason) if both_skipped else ""
    into.findings += run.findings
    into.partial = _joined(into.partial, run.partial)
    into.error = _joined(into.error, run.error)
    into.version = into.version or run.version
    into.source_url = into.source_url or run.source_url
    into.feeds = into.feeds or run.feeds


def tool_runs(runs: Iterable[ReportedRun], *, reserved: Iterable[str]) -> list[ReportedRun]:
    """One `ReportedRun` per final tool name, its findings named after it."""
    taken = {name.lower() for name in reserved}
    by_name: dict[str, ReportedRun] = {}
    for run in runs:
        name = _name(run.tool, taken)
        for finding in run.findings:
            finding.tool = run.feeds or name
        if name in by_name:
            _merge(by_name[name], run)
        else:
            run.tool = name
            by_name[name] = run
    return [by_name[name] for name in sorted(by_name)]
