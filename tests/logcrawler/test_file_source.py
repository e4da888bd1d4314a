"""The file source: growth, partial lines, rotation, truncation, restarts, tracebacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logcrawler.models import LogEntry, LogSource, SourceStatus
from logcrawler.services import crawl_source, reset_fingerprinter_cache
from tests.logcrawler.helpers import NOW, file_source

pytestmark = pytest.mark.django_db


def crawl(source: LogSource) -> int:
    source.refresh_from_db()
    report = crawl_source(source=source, now=NOW)
    assert report.status == SourceStatus.OK, source.last_error
    return report.lines


def messages() -> list[str]:
    return list(LogEntry.objects.order_by("id").values_list("message", flat=True))


def line(n: int) -> str:
    return f"2025-06-02T11:{n // 60:02d}:{n % 60:02d}Z INFO app.web: request {n} served\n"


def write(path: Path, text: str, mode: str = "a") -> None:
    with path.open(mode) as handle:
        handle.write(text)


def test_reads_what_was_added_since_the_last_crawl(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, line(1) + line(2))
    source = file_source(log, service="web")

    assert crawl(source) == 2
    write(log, line(3))
    assert crawl(source) == 1
    assert crawl(source) == 0
    assert messages() == ["request 1 served", "request 2 served", "request 3 served"]
    assert set(LogEntry.objects.values_list("service", flat=True)) == {"web"}


def test_a_line_still_being_written_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, line(1) + "2025-06-02T11:00:02Z INFO app.web: half a li")
    source = file_source(log)

    assert crawl(source) == 1
    write(log, "ne, now whole\n")
    assert crawl(source) == 1
    assert messages()[-1] == "half a line, now whole"


def test_a_restart_continues_from_the_stored_offset(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, line(1) + line(2))
    source = file_source(log)
    crawl(source)

    reset_fingerprinter_cache()  # what a new process starts with
    write(log, line(3))
    fresh = LogSource.objects.get(pk=source.pk)

    assert crawl(fresh) == 1
    assert len(messages()) == 3
    assert LogEntry.objects.values("fingerprint_id").distinct().count() == 1


def test_rotation_reads_the_rest_of_the_old_file_then_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, line(1))
    source = file_source(log)
    crawl(source)
    write(log, line(2))  # written after the crawl, before the rotation
    log.rename(tmp_path / "app.log.1")
    write(log, line(3) + line(4), mode="w")

    assert crawl(source) == 3
    assert messages() == [f"request {n} served" for n in (1, 2, 3, 4)]
    source.refresh_from_db()
    assert "rotated" in source.status_detail
    assert source.cursor["inode"] == log.stat().st_ino


def test_rotation_without_the_old_file_starts_the_new_one_from_its_start(
    tmp_path: Path,
) -> None:
    log = tmp_path / "app.log"
    write(log, line(1))
    source = file_source(log)
    crawl(source)
    log.unlink()
    write(log, line(2), mode="w")

    assert crawl(source) == 1
    assert messages()[-1] == "request 2 served"


def test_truncation_starts_again_from_the_top(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, line(1) + line(2) + line(3))
    source = file_source(log)
    crawl(source)
    write(log, line(4), mode="w")  # copytruncate: same inode, shorter

    assert crawl(source) == 1
    source.refresh_from_db()
    assert "truncated" in source.status_detail
    assert messages()[-1] == "request 4 served"


def test_contents_replaced_in_place_past_the_offset_are_read_from_the_top(
    tmp_path: Path,
) -> None:
    log = tmp_path / "app.log"
    write(log, line(1))
    source = file_source(log)
    crawl(source)
    write(log, line(7) + line(8) + line(9), mode="w")  # truncated and regrown between crawls

    assert crawl(source) == 3
    assert messages()[-3:] == [f"request {n} served" for n in (7, 8, 9)]


def test_start_at_end_skips_what_was_there_before_the_first_crawl(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, line(1) + line(2))
    source = file_source(log, start_at="end")

    assert crawl(source) == 0
    write(log, line(3))
    assert crawl(source) == 1


def test_a_logged_traceback_is_one_entry(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(
        log,
        line(1)
        + "2025-06-02T11:00:05Z ERROR shop.views: Checkout failed\n"
        + "Traceback (most recent call last):\n"
        + '  File "/app/shop/views.py", line 41, in checkout\n'
        + "    total = price(cart)\n"
        + "KeyError: 'NO'\n"
        + line(6),
    )
    source = file_source(log)

    assert crawl(source) == 3
    entry = LogEntry.objects.get(level="ERROR")
    assert entry.message.startswith("Checkout failed\nTraceback (most recent call last):")
    assert entry.message.endswith("KeyError: 'NO'")
    assert entry.fingerprint is not None and entry.fingerprint.kind == "traceback"


def test_a_traceback_cut_off_at_the_end_waits_one_crawl_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    head = (
        "2025-06-02T11:00:05Z ERROR shop.views: Checkout failed\n"
        "Traceback (most recent call last):\n"
        '  File "/app/shop/views.py", line 41, in checkout\n'
    )
    write(log, line(1) + head)
    source = file_source(log)

    assert crawl(source) == 1
    write(log, "    total = price(cart)\nKeyError: 'NO'\n")
    assert crawl(source) == 1
    assert LogEntry.objects.get(level="ERROR").message.endswith("KeyError: 'NO'")


def test_an_unfinished_traceback_is_not_held_forever(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write(log, 'Traceback (most recent call last):\n  File "/app/x.py", line 1, in f\n')
    source = file_source(log)

    assert crawl(source) == 0
    assert crawl(source) == 1
    assert crawl(source) == 0


def test_a_missing_file_is_an_error_on_the_source(tmp_path: Path) -> None:
    source = file_source(tmp_path / "nowhere.log")

    report = crawl_source(source=source, now=NOW)

    source.refresh_from_db()
    assert report.status == SourceStatus.ERROR
    assert "nowhere.log" in source.last_error
    assert source.last_crawl_at == NOW


@pytest.mark.parametrize("path", ["/etc/passwd", "/proc/self/environ", "{tmp}/../../etc/passwd"])
def test_a_file_outside_the_allowed_folders_is_refused(
    path: str, tmp_path: Any, staff: Any
) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    raw = path.format(tmp=tmp_path)

    response = client.post(
        "/api/logs/sources/",
        {"name": "sneaky", "kind": "file", "settings": {"path": raw}},
        format="json",
    )

    assert response.status_code == 400
    assert "LOGCRAWLER_FILE_ROOTS" in str(response.json())


def test_a_source_saved_outside_the_roots_does_not_crawl(tmp_path: Any) -> None:
    from logcrawler.models import SourceKind

    source = LogSource.objects.create(
        name="old", kind=SourceKind.FILE, settings={"path": "/etc/hostname"}
    )

    crawl_source(source=source)

    source.refresh_from_db()
    assert "LOGCRAWLER_FILE_ROOTS" in source.last_error
    assert not LogEntry.objects.filter(source=source).exists()


def test_a_sources_kind_cannot_change(staff: Any, tmp_path: Any) -> None:
    from rest_framework.test import APIClient

    source = file_source(tmp_path / "app.log")
    client = APIClient()
    client.force_authenticate(staff)

    response = client.patch(f"/api/logs/sources/{source.pk}/", {"kind": "http"}, format="json")

    assert response.status_code == 409  # the source's state forbids it; the request is well formed
    assert "kind" in response.json()
