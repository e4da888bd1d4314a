"""Demo data for `make run`: a file source over a sample application log, crawled once.

The sample (``logcrawler/data/sample.log``) spans two hours ending in a burst of failing
checkouts. Its timestamps are moved so that it ends a minute ago, written to
``var/demo-logs/shop.log``, and the source follows that copy: with the original 2025
timestamps the page's "last hour" and "last day" would be empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from logcrawler.models import ErrorFingerprint, LogSource, SourceKind
from logcrawler.services.alerts import evaluate_alert_rules
from logcrawler.services.crawl import crawl_source

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample.log"
DEMO_SOURCE = "demo-shop"
DEMO_SERVICE = "shop"
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z", re.MULTILINE)


def rebased_sample(*, now: datetime) -> str:
    """The sample with every timestamp shifted so that its last one is a minute ago."""
    text = SAMPLE.read_text()
    stamps = _STAMP.findall(text)
    last = datetime.fromisoformat(stamps[-1]).replace(tzinfo=UTC)
    shift = (now - timedelta(minutes=1)) - last

    def moved(match: re.Match[str]) -> str:
        when = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC) + shift
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"

    return _STAMP.sub(moved, text)


def seed_logcrawler_demo() -> str:
    if LogSource.objects.filter(name=DEMO_SOURCE).exists():
        return "already loaded"
    now = timezone.now()
    path = Path(settings.VAR_DIR) / "demo-logs" / "shop.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rebased_sample(now=now))
    source = LogSource.objects.create(
        name=DEMO_SOURCE,
        kind=SourceKind.FILE,
        settings={"path": str(path), "service": DEMO_SERVICE},
    )
    report = crawl_source(source=source, now=now)
    alerts = evaluate_alert_rules(now=now)
    fingerprints = ErrorFingerprint.objects.filter(service=DEMO_SERVICE).count()
    return (
        f"file source {DEMO_SOURCE}: {report.lines} entries, {fingerprints} fingerprints, "
        f"{len(alerts.fired)} alerts fired by the windowed rules"
    )
