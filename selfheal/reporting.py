"""An execution as plain text for a terminal, and the exit code a command ends with."""

from __future__ import annotations

from selfheal.models import ExecutionState, FindingPhase, PlaybookExecution, Severity

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CRITICAL = 2
EXIT_BUSY = 3


def exit_code(execution: PlaybookExecution) -> int:
    if execution.state == ExecutionState.FAILED:
        return EXIT_FAILED
    if execution.worst_severity == Severity.CRITICAL:
        return EXIT_CRITICAL
    return EXIT_OK


def as_text(execution: PlaybookExecution) -> str:
    mode = " (dry run)" if execution.dry_run else ""
    took = f" in {execution.duration_ms:.0f} ms" if execution.duration_ms is not None else ""
    lines = [
        f"{execution.playbook.capitalize()}{mode} #{execution.pk}: {execution.state}{took}, "
        f"by {execution.triggered_by}"
    ]
    for phase, heading in ((FindingPhase.CHECK, "Findings"), (FindingPhase.VERIFY, "After")):
        findings = [f for f in execution.findings.all() if f.phase == phase]
        if findings:
            lines.append(f"{heading}:")
        for finding in findings:
            lines.append(
                f"  {finding.severity.upper():<9} {finding.check_name:<17} "
                f"{finding.duration_ms:7.1f} ms  {finding.message}"
            )
            if finding.suggestion and finding.severity in (Severity.WARNING, Severity.CRITICAL):
                lines.append(f"  {'':<9} {'':<17} {'':>10}  → {finding.suggestion}")
    actions = list(execution.actions.all())
    if actions:
        lines.append("Actions:")
    for action in actions:
        lines.append(f"  {action.status:<8} {action.step:<17} {action.target:<20} {action.what}")
    if execution.error:
        lines.append(f"Error: {execution.error}")
    elif execution.summary:
        lines.append(execution.summary)
    lines.append(f"Worst severity: {execution.worst_severity or 'none'}")
    return "\n".join(lines)
