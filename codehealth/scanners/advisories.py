"""Known vulnerabilities of the pinned and locked packages, from every advisory source.

With no source that has data (offline, no OSV snapshot imported) the scanner is skipped
with the reason, so the page says "no data" and why, never "0 vulnerabilities".
"""

from __future__ import annotations

import time
from pathlib import Path

from codehealth.dependencies.advisories import ADVISORY_TOOL, advisory_finding
from codehealth.dependencies.manifests import manifest_paths, read_inventory
from codehealth.dependencies.sources import advisory_sources
from codehealth.scanners.base import Plan, ScanContext, Scanner, ScannerResult, config_hash


class AdvisoryScanner(Scanner):
    name = ADVISORY_TOOL
    title = "known vulnerabilities (OSV snapshot, Dependabot)"

    def plan(self, context: ScanContext) -> Plan:
        paths = manifest_paths(context.files)
        if not paths:
            return self.skip("no dependency manifests")
        inventory = read_inventory(paths, context.read)
        if not inventory.declared and not inventory.locked:
            return self.skip("no dependencies declared")
        if not inventory.locked:
            return self.skip(
                f"no data: none of {len(inventory.declared)} declared dependencies has a "
                "pinned or locked version to audit"
            )
        states = [s.state() for s in advisory_sources()]
        usable = [s for s in states if not s.no_data]
        if not usable:
            why = "; ".join(s.no_data for s in states) or "no advisory source registered"
            return self.skip(f"no data: {why}")
        version = "; ".join(s.label for s in usable)[:100]
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, {}, [s.name for s in usable]),
            options={"paths": paths},
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        started = time.monotonic()
        inventory = read_inventory(plan.options["paths"], context.read)
        findings = []
        for source in advisory_sources():
            state = source.state()
            if not state.no_data:
                findings += [advisory_finding(m) for m in source.matches(inventory.locked, state)]
        notes = [f"dependency manifest unreadable: {u}" for u in inventory.unreadable]
        if unpinned := inventory.unpinned():
            notes.append(
                f"{len(unpinned)} declared dependencies have no pinned or locked version and "
                f"were not audited for vulnerabilities ({', '.join(d.name for d in unpinned[:5])}"
                f"{', ...' if len(unpinned) > 5 else ''})"
            )
        duration = int((time.monotonic() - started) * 1000)
        return ScannerResult(findings, 0, duration, notes=notes)
