"""Code health's seam for other apps (the agent's tools, incidents, the API, the page).

Everything here takes keyword arguments and model rows or ids, and raises
`codehealth.errors.CodehealthError` subclasses (each with its HTTP status). See
docs/codehealth.md for what each offers.
"""

from codehealth.services.autofix import autofix_rule
from codehealth.services.code import (
    CodeSearch,
    FileExcerpt,
    finding_line_url,
    get_repository,
    line_url,
    read_file,
    resolve_commit,
    search_code,
)
from codehealth.services.daily import DailyScan, queue_daily_scan, queue_daily_scans
from codehealth.services.findings import (
    ACTIONS,
    CURRENT,
    accept_finding,
    change_finding_state,
    create_finding_task,
    list_findings,
    mark_false_positive,
    reopen_finding,
)
from codehealth.services.patches import (
    AUTOPR_KIND,
    build_autopr,
    get_autopr,
    may_merge,
    merge_autopr,
    propose_patch,
    reject_autopr,
)
from codehealth.services.sarif import scan_to_sarif
from codehealth.services.scans import SCAN_KIND, run_scan, scan_now, start_scan
from codehealth.services.summary import RepositorySummary, repository_summary
from codehealth.services.weekly import write_due_reports, write_weekly_report
from codehealth.services.weekly_markdown import weekly_markdown

__all__ = [
    "ACTIONS",
    "AUTOPR_KIND",
    "CURRENT",
    "SCAN_KIND",
    "CodeSearch",
    "DailyScan",
    "FileExcerpt",
    "RepositorySummary",
    "accept_finding",
    "autofix_rule",
    "build_autopr",
    "change_finding_state",
    "create_finding_task",
    "finding_line_url",
    "get_autopr",
    "get_repository",
    "line_url",
    "list_findings",
    "mark_false_positive",
    "may_merge",
    "merge_autopr",
    "propose_patch",
    "queue_daily_scan",
    "queue_daily_scans",
    "read_file",
    "reject_autopr",
    "reopen_finding",
    "repository_summary",
    "resolve_commit",
    "run_scan",
    "scan_now",
    "scan_to_sarif",
    "search_code",
    "start_scan",
    "weekly_markdown",
    "write_due_reports",
    "write_weekly_report",
]
