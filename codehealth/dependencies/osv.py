"""OSV records: imported from a snapshot, matched against pinned and locked versions.

OSV's ranges are evaluated as its schema says: the events of a range sorted by version,
``introduced`` opening it, ``fixed`` and ``last_affected`` closing it (``0`` is before
every version). PyPI versions compare by PEP 440 (`packaging`), npm's by SemVer 2.0
(`semver`); explicit ``versions`` lists match by equality. A version neither can parse is
matched only by those lists.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import semver
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from packaging.version import InvalidVersion, Version

from codehealth.dependencies.manifests import NPM, PYPI, Locked, normalise
from codehealth.models import Advisory, AffectedPackage, OsvImport

ECOSYSTEMS = (PYPI, NPM)
_ZERO: dict[str, Any] = {PYPI: Version("0"), NPM: semver.Version(0)}
BATCH = 500


class OsvImportError(Exception):
    pass


def parse_version(ecosystem: str, text: str) -> Any:
    if text == "0":
        return _ZERO[ecosystem]
    try:
        if ecosystem == PYPI:
            return Version(text)
        return semver.Version.parse(text.removeprefix("v"))
    except (InvalidVersion, ValueError, TypeError):
        return None


def _event_version(ecosystem: str, event: dict[str, str]) -> Any:
    return parse_version(ecosystem, next(iter(event.values()), ""))


def in_range(ecosystem: str, version: Any, events: list[dict[str, str]]) -> bool:
    parsed = [(v, e) for e in events if (v := _event_version(ecosystem, e)) is not None]
    parsed.sort(key=lambda pair: (pair[0], "introduced" not in pair[1]))
    affected = False
    for at, event in parsed:
        if "introduced" in event:
            affected = affected or version >= at
        elif affected and _closes(event, version, at):
            affected = False
    return affected


def _closes(event: dict[str, str], version: Any, at: Any) -> bool:
    if "last_affected" in event:
        return bool(version > at)
    return ("fixed" in event or "limit" in event) and bool(version >= at)


def is_affected(ecosystem: str, version: str, row: AffectedPackage) -> bool:
    if version in (row.versions or []):
        return True
    parsed = parse_version(ecosystem, version)
    if parsed is None:
        return False
    for item in row.ranges or []:
        kind = item.get("type")
        if kind in ("ECOSYSTEM", "SEMVER") and in_range(ecosystem, parsed, item.get("events", [])):
            return True
    return False


def fixed_versions(row: AffectedPackage) -> list[str]:
    return sorted(
        {
            event["fixed"]
            for item in row.ranges or []
            if item.get("type") in ("ECOSYSTEM", "SEMVER")  # a GIT range's are commits
            for event in item.get("events", [])
            if "fixed" in event
        }
    )


def affected_rows(packages: Iterable[Locked]) -> dict[tuple[str, str], list[AffectedPackage]]:
    """The imported rows about these packages, by (ecosystem, name), withdrawn ones left out."""
    wanted: dict[str, set[str]] = {}
    for package in packages:
        wanted.setdefault(package.ecosystem, set()).add(package.name)
    rows: dict[tuple[str, str], list[AffectedPackage]] = {}
    for ecosystem, names in wanted.items():
        found = AffectedPackage.objects.filter(
            ecosystem=ecosystem, name__in=names, advisory__withdrawn__isnull=True
        ).select_related("advisory")
        for row in found:
            rows.setdefault((row.ecosystem, row.name), []).append(row)
    return rows


# --- import -----------------------------------------------------------------------------


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """Records of an OSV ``all.zip``, a folder of ``.json`` files, or one JSON file (a
    record or a list of them)."""
    if path.is_dir():
        for member in sorted(path.rglob("*.json")):
            yield from _loaded(member.read_bytes(), str(member))
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    yield from _loaded(archive.read(name), name)
    elif path.is_file():
        yield from _loaded(path.read_bytes(), str(path))
    else:
        raise OsvImportError(f"{path}: no such file or folder")


def _loaded(data: bytes, name: str) -> Iterator[dict[str, Any]]:
    try:
        loaded = json.loads(data)
    except ValueError as exc:
        raise OsvImportError(f"{name}: not JSON ({exc})") from exc
    for record in loaded if isinstance(loaded, list) else [loaded]:
        if isinstance(record, dict) and record.get("id"):
            yield record


def _severity(record: dict[str, Any]) -> str:
    given = (record.get("database_specific") or {}).get("severity") or ""
    if not given:
        for affected in record.get("affected") or []:
            given = (affected.get("ecosystem_specific") or {}).get("severity") or ""
            if given:
                break
    return str(given).lower()


def _when(text: Any) -> datetime | None:
    return parse_datetime(text) if isinstance(text, str) else None


def _advisory(record: dict[str, Any]) -> tuple[Advisory, list[AffectedPackage]]:
    advisory = Advisory(
        osv_id=str(record["id"])[:100],
        aliases=[str(a) for a in record.get("aliases") or []],
        summary=str(record.get("summary") or record.get("details") or "")[:2000],
        severity=_severity(record)[:16],
        modified=_when(record.get("modified")),
        withdrawn=_when(record.get("withdrawn")),
    )
    rows = []
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        ecosystem = package.get("ecosystem")
        if ecosystem not in ECOSYSTEMS or not package.get("name"):
            continue
        rows.append(
            AffectedPackage(
                ecosystem=ecosystem,
                name=normalise(ecosystem, package["name"])[:300],
                ranges=affected.get("ranges") or [],
                versions=affected.get("versions") or [],
            )
        )
    return advisory, rows


def _store(batch: list[tuple[Advisory, list[AffectedPackage]]], run: OsvImport) -> None:
    advisories = [a for a, _ in batch]
    for advisory in advisories:
        advisory.imported_in = run
    with transaction.atomic():
        Advisory.objects.bulk_create(
            advisories,
            update_conflicts=True,
            unique_fields=["osv_id"],
            update_fields=[
                "aliases",
                "summary",
                "severity",
                "modified",
                "withdrawn",
                "imported_in",
            ],
        )
        ids = dict(
            Advisory.objects.filter(osv_id__in=[a.osv_id for a in advisories]).values_list(
                "osv_id", "pk"
            )
        )
        AffectedPackage.objects.filter(advisory_id__in=ids.values()).delete()
        rows = []
        for advisory, affected in batch:
            for row in affected:
                row.advisory_id = ids[advisory.osv_id]
                rows.append(row)
        AffectedPackage.objects.bulk_create(rows, batch_size=BATCH)


def import_osv(path: Path) -> OsvImport:
    """Load OSV records (PyPI and npm ones) from `path`; a record seen before is replaced."""
    run = OsvImport.objects.create(source=str(path)[:500])
    ecosystems: set[str] = set()
    newest: datetime | None = None
    count = 0
    batch: list[tuple[Advisory, list[AffectedPackage]]] = []
    for record in _records(path):
        advisory, rows = _advisory(record)
        if not rows:
            continue
        ecosystems.update(r.ecosystem for r in rows)
        if advisory.modified and (newest is None or advisory.modified > newest):
            newest = advisory.modified
        batch.append((advisory, rows))
        count += 1
        if len(batch) >= BATCH:
            _store(batch, run)
            batch = []
    if batch:
        _store(batch, run)
    run.records = count
    run.ecosystems = sorted(ecosystems)
    run.newest_modified = newest
    run.finished_at = timezone.now()
    run.save(update_fields=["records", "ecosystems", "newest_modified", "finished_at"])
    return run
