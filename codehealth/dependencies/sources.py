"""Advisory sources: where known vulnerabilities come from, registered in one shape.

A source says whether it has data (and how old), and gives `AdvisoryMatch` rows for the
repository's pinned and locked packages. The ``advisories`` scanner asks every registered
source; a code host's alerts (Dependabot) arrive as the same `AdvisoryMatch` rows through
the host's report. Adding one (pip-audit, another database): subclass `AdvisorySource`,
``register_advisory_source(MySource())`` in ``CodehealthConfig.ready()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from codehealth.dependencies.advisories import AdvisoryMatch, group_matches, severity_of
from codehealth.dependencies.manifests import Locked
from codehealth.dependencies.osv import affected_rows, fixed_versions, is_affected
from codehealth.models import OsvImport


@dataclass(frozen=True)
class SourceState:
    name: str
    label: str = ""  # what and how old: "OSV snapshot imported 2026-12-08 ..."
    no_data: str = ""  # why it has nothing to say, when it has not


class AdvisorySource(ABC):
    name: str

    @abstractmethod
    def state(self) -> SourceState: ...

    @abstractmethod
    def matches(self, packages: list[Locked], state: SourceState) -> list[AdvisoryMatch]: ...


class OsvSnapshot(AdvisorySource):
    """The OSV records ``manage.py import_osv`` loaded."""

    name = "osv"

    def state(self) -> SourceState:
        latest = OsvImport.objects.latest_done()
        if latest is None:
            return SourceState(self.name, no_data="no OSV snapshot imported (manage.py import_osv)")
        newest = latest.newest_modified
        label = f"OSV snapshot imported {latest.finished_at:%Y-%m-%d %H:%M} UTC" + (
            f", newest record {newest:%Y-%m-%d}" if newest else ""
        )
        return SourceState(self.name, label=label)

    def matches(self, packages: list[Locked], state: SourceState) -> list[AdvisoryMatch]:
        rows = affected_rows(packages)
        found = []
        for package in packages:
            for row in rows.get((package.ecosystem, package.name), []):
                if not is_affected(package.ecosystem, package.version, row):
                    continue
                advisory = row.advisory
                found.append(
                    AdvisoryMatch(
                        ecosystem=package.ecosystem,
                        package=package.name,
                        ids=tuple(sorted({advisory.osv_id, *advisory.aliases})),
                        summary=advisory.summary.splitlines()[0][:300] if advisory.summary else "",
                        severity=severity_of(advisory.severity),
                        source=state.label,
                        version=package.version,
                        fixed=fixed_versions(row),
                        manifests=list(package.manifests),
                    )
                )
        return group_matches(found)


_sources: dict[str, AdvisorySource] = {}


def register_advisory_source(source: AdvisorySource) -> None:
    _sources[source.name] = source


def advisory_sources() -> list[AdvisorySource]:
    return list(_sources.values())
