"""`DiagnoseSystemPlaybook`: every registered check, each a finding. It changes nothing."""

from __future__ import annotations

from collections import Counter

from selfheal.checks import registered_checks
from selfheal.models import FindingPhase, Severity
from selfheal.playbooks.base import Playbook, Run


class DiagnoseSystemPlaybook(Playbook):
    name = "diagnose"
    title = "Diagnosis"
    description = "Six checks of the database, workers, queue, errors, completions, resources."

    @property
    def total_steps(self) -> int:
        return len(registered_checks())

    def run(self, run: Run) -> None:
        run.diagnose(phase=FindingPhase.CHECK, first_step=1)

    def summarize(self, run: Run) -> str:
        return summarize_findings(run)


def summarize_findings(run: Run) -> str:
    """ "1 critical, 2 warning, 3 ok. Critical: x. Warning: y, z." for the latest findings."""
    outcomes = run.findings.get(FindingPhase.VERIFY) or run.findings.get(FindingPhase.CHECK, [])
    if not outcomes:
        return ""
    counts = Counter(outcome.severity for outcome in outcomes)
    text = ", ".join(f"{counts[s]} {s.value}" for s in reversed(Severity) if counts[s]) + "."
    for severity in (Severity.CRITICAL, Severity.WARNING):
        names = [o.check for o in outcomes if o.severity == severity]
        if names:
            text += f" {severity.label}: {', '.join(names)}."
    return text
