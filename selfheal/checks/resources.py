"""Check 6: does this machine have CPU, memory and disk to spare?"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from selfheal.checks.base import Check, CheckContext, CheckResult
from selfheal.models import Severity, worst_severity

LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def database_path() -> tuple[str | None, dict[str, Any]]:
    """The directory the database keeps its files in, when it is on this machine."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        path = Path(name).resolve().parent if name and ":memory:" not in name else None
        return (str(path) if path else None), {}
    info: dict[str, Any] = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            info["database_bytes"] = cursor.fetchone()[0]
            if db.get("HOST", "") not in LOCAL_HOSTS:
                return None, {**info, "database_host": db["HOST"]}
            cursor.execute("SELECT current_setting('data_directory')")
            return cursor.fetchone()[0], info
    except DatabaseError as exc:
        # Reading data_directory needs pg_read_all_settings; without it the size must do.
        return None, {**info, "data_directory": f"not visible: {str(exc).splitlines()[0]}"}


class ResourcesCheck(Check):
    name = "resources"
    title = "System resources"

    LOAD_PER_CPU_WARNING = 2.0
    LOAD_PER_CPU_CRITICAL = 4.0
    MEMORY_WARNING_PERCENT = 90.0
    MEMORY_CRITICAL_PERCENT = 97.0
    DISK_WARNING_PERCENT = 90.0
    DISK_CRITICAL_PERCENT = 97.0

    def __init__(self, *, log_paths: list[str] | None = None, **thresholds: float) -> None:
        super().__init__(**thresholds)
        self.log_paths = log_paths if log_paths is not None else settings.SELFHEAL_LOG_PATHS

    def run(self, context: CheckContext) -> CheckResult:
        cpus = psutil.cpu_count() or 1
        load_1m = os.getloadavg()[0] if hasattr(os, "getloadavg") else psutil.getloadavg()[0]
        memory = psutil.virtual_memory()
        db_path, db_info = database_path()
        paths = {"database": db_path} if db_path else {}
        paths.update({f"logs:{path}": path for path in self.log_paths})
        disks = {label: _disk(path) for label, path in paths.items()}
        evidence = {
            "cpu_count": cpus,
            "load_1m": round(load_1m, 2),
            "load_per_cpu": round(load_1m / cpus, 2),
            "memory_percent": memory.percent,
            "memory_available_mb": memory.available // 2**20,
            "disks": disks,
            **db_info,
        }
        verdicts = self._verdicts(evidence)
        if not verdicts:
            return CheckResult(
                Severity.OK,
                f"Load {evidence['load_per_cpu']} per CPU, memory {memory.percent:.0f}% used, "
                "disks have room.",
                evidence,
            )
        worst = worst_severity([severity for severity, _ in verdicts])
        return CheckResult(
            worst,
            " ".join(message for _, message in verdicts),
            evidence,
            "Free disk space (old logs, backups), stop runaway processes, or add capacity.",
        )

    def _verdicts(self, evidence: dict[str, Any]) -> list[tuple[Severity, str]]:
        verdicts = []
        load = evidence["load_per_cpu"]
        level = _level(load, self.LOAD_PER_CPU_WARNING, self.LOAD_PER_CPU_CRITICAL)
        if level:
            verdicts.append((level, f"CPU load is {load} per CPU."))
        memory = evidence["memory_percent"]
        level = _level(memory, self.MEMORY_WARNING_PERCENT, self.MEMORY_CRITICAL_PERCENT)
        if level:
            verdicts.append((level, f"Memory is {memory:.0f}% used."))
        for label, disk in evidence["disks"].items():
            if "error" in disk:
                verdicts.append((Severity.WARNING, f"Disk of {label}: {disk['error']}."))
                continue
            level = _level(disk["percent"], self.DISK_WARNING_PERCENT, self.DISK_CRITICAL_PERCENT)
            if level:
                verdicts.append((level, f"Disk of {label} is {disk['percent']:.0f}% full."))
        return verdicts


def _level(value: float, warning: float, critical: float) -> Severity | None:
    if value >= critical:
        return Severity.CRITICAL
    if value >= warning:
        return Severity.WARNING
    return None


def _disk(path: str) -> dict[str, Any]:
    try:
        usage = psutil.disk_usage(path)
    except OSError as exc:
        return {"path": path, "error": f"cannot read {path}: {exc.strerror or exc}"}
    return {
        "path": path,
        "percent": usage.percent,
        "free_gb": round(usage.free / 2**30, 2),
        "total_gb": round(usage.total / 2**30, 2),
    }
