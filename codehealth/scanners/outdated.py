"""Versions behind the newest release: each declared dependency's pinned or locked version
against what PyPI's JSON API or the npm registry says is the newest (when online).

An index that cannot be reached makes the run partial (its unseen findings stay as they
were) and a note of the scan says so: offline, a scan neither fails nor looks up to date.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from codehealth.dependencies.index import IndexSettings, IndexUnreachable, PackageIndex
from codehealth.dependencies.manifests import Locked, manifest_paths, read_inventory
from codehealth.dependencies.osv import parse_version
from codehealth.models import FindingKind, FindingSeverity
from codehealth.normal_form import RawFinding
from codehealth.repositories.local import work_dir
from codehealth.scanners.base import Plan, ScanContext, Scanner, ScannerResult, config_hash

INDEX_NAMES = {"PyPI": "PyPI", "npm": "the npm registry"}


def index_settings() -> IndexSettings:
    return IndexSettings(
        pypi_url=settings.CODEHEALTH_PYPI_URL,
        npm_url=settings.CODEHEALTH_NPM_URL,
        timeout=float(settings.CODEHEALTH_INDEX_TIMEOUT_SECONDS),
        cache_seconds=settings.CODEHEALTH_INDEX_CACHE_SECONDS,
        cache_dir=work_dir("index-cache"),
    )


def _behind(ecosystem: str, current: str, latest: str) -> tuple[bool, bool]:
    """(behind at all, a major version behind)."""
    have, newest = parse_version(ecosystem, current), parse_version(ecosystem, latest)
    if have is None or newest is None or not newest > have:
        return False, False
    major: Any = (
        (newest.release[0], have.release[0]) if ecosystem == "PyPI" else (newest.major, have.major)
    )
    return True, major[0] > major[1]


class OutdatedScanner(Scanner):
    name = "outdated"
    title = "versions behind the newest release (PyPI, npm)"

    def plan(self, context: ScanContext) -> Plan:
        paths = manifest_paths(context.files)
        if not paths:
            return self.skip("no dependency manifests")
        config = index_settings()
        inventory = read_inventory(paths, context.read)
        asked = sorted(e for e in inventory.ecosystems if config.base(e))
        if not asked:
            return self.skip(
                "no package index to ask (CODEHEALTH_PYPI_URL / CODEHEALTH_NPM_URL are empty)"
            )
        urls = [config.base(e) for e in asked]
        return Plan(
            tool=self.name,
            version="package index JSON APIs",
            config_hash=config_hash(self.name, "1", {}, urls),
            options={"paths": paths, "ecosystems": asked},
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        started = time.monotonic()
        inventory = read_inventory(plan.options["paths"], context.read)
        versions: dict[tuple[str, str], Locked] = {}
        for package in inventory.locked:
            versions.setdefault((package.ecosystem, package.name), package)
        index = PackageIndex(index_settings())
        findings: list[RawFinding] = []
        missed: dict[str, int] = {}
        reasons: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        try:
            for declared in inventory.direct():
                key = (declared.ecosystem, declared.name)
                locked = versions.get(key)
                if (
                    key in seen
                    or locked is None
                    or declared.ecosystem not in plan.options["ecosystems"]
                ):
                    continue
                seen.add(key)
                try:
                    release = index.latest(declared.ecosystem, declared.name)
                except IndexUnreachable as exc:
                    missed[declared.ecosystem] = missed.get(declared.ecosystem, 0) + 1
                    reasons[declared.ecosystem] = str(exc)
                    continue
                if release.version is None:
                    continue
                behind, major = _behind(declared.ecosystem, locked.version, release.version)
                if behind:
                    findings.append(
                        self._finding(
                            declared.manifest, locked, release.version, release.fetched_at, major
                        )
                    )
        finally:
            index.close()
        notes = [
            f"{reasons[e]}: {n} package(s) not checked for newer releases"
            for e, n in sorted(missed.items())
        ]
        duration = int((time.monotonic() - started) * 1000)
        return ScannerResult(findings, 0, duration, partial="; ".join(notes), notes=notes)

    def _finding(
        self, manifest: str, locked: Locked, latest: str, fetched_at: float, major: bool
    ) -> RawFinding:
        when = datetime.fromtimestamp(fetched_at, tz=UTC)
        index = INDEX_NAMES.get(locked.ecosystem, locked.ecosystem)
        source = f"{index} as of {when:%Y-%m-%d %H:%M} UTC"
        return RawFinding(
            tool=self.name,
            rule="outdated",
            kind=FindingKind.DEPENDENCY,
            severity=FindingSeverity.LOW if major else FindingSeverity.INFO,
            message=f"{locked.name} {locked.version} is behind {latest} (source: {source})",
            path=manifest,
            anchor=locked.name,
            symbol=locked.name,
            sources=[source],
        )
