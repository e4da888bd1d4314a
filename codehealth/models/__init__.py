"""Code health's rows: repositories, scans and tool runs, findings, auto-PRs, weekly reports."""

from codehealth.models.advisories import Advisory, AffectedPackage, OsvImport
from codehealth.models.autoprs import OPEN_AUTOPR_STATES, AutoPR, AutoPRKind, AutoPRState
from codehealth.models.findings import (
    ACTIVE_STATES,
    ALIVE_STATES,
    SEVERITY_ORDER,
    Finding,
    FindingConfidence,
    FindingEvent,
    FindingKind,
    FindingOccurrence,
    FindingSeverity,
    FindingState,
    FixApplicability,
)
from codehealth.models.reports import WeeklyReport
from codehealth.models.repositories import Repository, RepositoryKind
from codehealth.models.scans import (
    FINISHED_SCAN_STATUSES,
    Scan,
    ScanStatus,
    ToolRun,
    ToolRunOrigin,
    ToolRunStatus,
)

__all__ = [
    "ACTIVE_STATES",
    "ALIVE_STATES",
    "FINISHED_SCAN_STATUSES",
    "OPEN_AUTOPR_STATES",
    "SEVERITY_ORDER",
    "Advisory",
    "AffectedPackage",
    "AutoPR",
    "AutoPRKind",
    "AutoPRState",
    "Finding",
    "FindingConfidence",
    "FindingEvent",
    "FindingKind",
    "FindingOccurrence",
    "FindingSeverity",
    "FindingState",
    "FixApplicability",
    "OsvImport",
    "Repository",
    "RepositoryKind",
    "Scan",
    "ScanStatus",
    "ToolRun",
    "ToolRunOrigin",
    "ToolRunStatus",
    "WeeklyReport",
]
