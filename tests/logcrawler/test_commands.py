"""crawl_logs and ingest_file."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from logcrawler.models import LogEntry, LogSource, SourceKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_crawl_logs_crawls_every_enabled_source(tmp_path: Path) -> None:
    for name, enabled in (("a", True), ("b", True), ("off", False)):
        log = tmp_path / f"{name}.log"
        log.write_text(f"ERROR {name} failed\n")
        LogSource.objects.create(
            name=name, kind=SourceKind.FILE, settings={"path": str(log)}, enabled=enabled
        )

    output = run("crawl_logs")

    assert "a: 1 entries stored, ok" in output and "b: 1 entries stored, ok" in output
    assert "off" not in output
    assert LogEntry.objects.count() == 2


def test_crawl_logs_one_source_by_name_even_disabled(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("ERROR x failed\n")
    LogSource.objects.create(
        name="x", kind=SourceKind.FILE, settings={"path": str(log)}, enabled=False
    )

    assert "x: 1 entries stored" in run("crawl_logs", "--source", "x")


def test_crawl_logs_unknown_source_is_one_readable_error() -> None:
    with pytest.raises(CommandError, match="no log source is named 'ghost'"):
        run("crawl_logs", "--source", "ghost")


def test_crawl_logs_fails_when_a_source_fails(tmp_path: Path) -> None:
    LogSource.objects.create(
        name="gone", kind=SourceKind.FILE, settings={"path": str(tmp_path / "gone.log")}
    )

    with pytest.raises(CommandError, match="some sources failed"):
        run("crawl_logs")


def test_ingest_file_reads_a_file_once(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("ERROR first failure\nINFO fine\n")

    first = run("ingest_file", str(log), "--service", "shop")
    with log.open("a") as handle:
        handle.write("ERROR later failure\n")
    second = run("ingest_file", str(log))

    assert "2 entries stored" in first and "1 entries stored" in second
    assert set(LogEntry.objects.values_list("service", flat=True)) == {"shop"}
    source = LogSource.objects.get()
    assert source.kind == SourceKind.FILE and not source.enabled


def test_ingest_file_bad_path_is_one_line_and_non_zero(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as failure:
        run("ingest_file", str(tmp_path / "missing.log"))

    assert str(failure.value) == f"{tmp_path / 'missing.log'}: no such file"
    with pytest.raises(CommandError, match="no such file"):
        run("ingest_file", str(tmp_path))


def test_crawl_logs_says_why_a_source_failed(tmp_path: Path, settings: object) -> None:
    LogSource.objects.create(
        name="outside", kind=SourceKind.FILE, settings={"path": "/etc/hostname"}
    )
    LogSource.objects.create(
        name="gone", kind=SourceKind.FILE, settings={"path": str(tmp_path / "gone.log")}
    )
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("crawl_logs", stdout=out)

    lines = out.getvalue().splitlines()
    assert any(
        line.startswith("outside: 0 entries stored, error (Only files under")
        and "LOGCRAWLER_FILE_ROOTS" in line
        for line in lines
    )
    assert any(line.startswith("gone: 0 entries stored, error (cannot read") for line in lines)
    outside = LogSource.objects.get(name="outside")
    assert "LOGCRAWLER_FILE_ROOTS" in outside.status_detail == outside.last_error


def test_crawl_logs_counts_the_alerts_its_crawl_opened(tmp_path: Path) -> None:
    from logcrawler.models import Alert, RuleKind
    from tests.logcrawler.helpers import rule

    rule(RuleKind.NEW_FINGERPRINT, min_level="ERROR", create_task=False, send_webhook=False)
    log = tmp_path / "app.log"
    log.write_text(
        "ERROR payment declined for order 1\n"
        "ERROR disk full on /var/data\n"
        "ERROR cannot reach the mail server\n"
        "CRITICAL database connection lost\n"
        "INFO all fine\n"
    )
    LogSource.objects.create(name="app", kind=SourceKind.FILE, settings={"path": str(log)})

    output = run("crawl_logs")

    assert Alert.objects.count() == 4
    assert "alerts: 4 opened, 4 fired, 0 resolved" in output
