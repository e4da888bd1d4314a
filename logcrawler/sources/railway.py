"""The Railway source: deployment logs and HTTP logs of the configured services.

Each active deployment of each configured service is read from its own cursor, one
`TimestampCursor` per log stream. A crawl asks for the window from the cursor to now; a
full page (``limit`` lines) may have left lines out, whichever end Railway cuts, so the
window is halved until a page comes back short, and the next window starts where that one
ended. A deployment that stopped being active is read one last time, then forgotten.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone

from logcrawler.fingerprint import ParsedEntry, normalise_level, parse_line
from logcrawler.levels import level_for_status_class, worse_level
from logcrawler.sources.base import (
    Batch,
    CrawlNotes,
    RateLimited,
    SourceAdapter,
    SourceError,
    register_source_kind,
)
from logcrawler.sources.cursor import (
    NS_PER_SECOND,
    TimestampCursor,
    datetime_to_ns,
    ns_to_datetime,
)
from logcrawler.sources.multiline import join_entries
from logcrawler.sources.railway_client import (
    BEARER,
    MAX_LIMIT,
    PROJECT,
    TOKEN_KINDS,
    RailwayLine,
    RailwayLogsClient,
)

TOKEN_IN_SETTINGS = "Keep the token in the source's token field, not its settings."  # noqa: S105
DEFAULT_LIMIT = 1000
DEFAULT_LOOKBACK_MINUTES = 60
DEFAULT_SETTLE_SECONDS = 10
STREAM_LOGS = "logs"
STREAM_HTTP = "http"
_RAILWAY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Fetch = Callable[[int, int], list[RailwayLine]]


def crawl_windows(
    fetch: Fetch,
    cursor: TimestampCursor,
    *,
    start_ns: int,
    end_ns: int,
    limit: int,
    notes: CrawlNotes,
) -> Iterator[list[RailwayLine]]:
    """The new lines between ``start_ns`` and ``end_ns``, one list per complete window."""
    low = start_ns
    width = max(end_ns - low, 0)
    while True:
        high = min(end_ns, low + width)
        page = fetch(low, high)
        while len(page) >= limit and high > low:
            high = low + (high - low) // 2
            page = fetch(low, high)
        if len(page) >= limit:
            notes.add(
                f"{len(page)} or more lines share one timestamp (the page limit); "
                "lines past the limit at that instant may be missing"
            )
        yield cursor.take_new(page)
        if high >= end_ns:
            return
        width = max((high - low) * 2, 1)
        # The next window overlaps this one's last instant (in case Railway's end is
        # exclusive; the cursor drops what it already took), unless that makes no progress.
        low = high if len(page) < limit and high > low else high + 1


def _deploy_entry(line: RailwayLine, *, service: str, deployment: str) -> ParsedEntry:
    parsed = parse_line(line.message, service=service)
    level = worse_level(
        parsed.level, normalise_level(line.severity or line.attributes.get("level", ""))
    )
    attributes = {**line.attributes, **parsed.attributes, "deploymentId": deployment}
    attributes.pop("level", None)
    return ParsedEntry(
        message=parsed.message,
        timestamp=ns_to_datetime(line.ts_ns),
        level=level,
        service=service,
        attributes=attributes,
    )


def _http_entry(line: RailwayLine, *, service: str, deployment: str) -> ParsedEntry:
    status = line.attributes.get("httpStatus", "")
    level = level_for_status_class(f"{status[:1]}xx") if status.isdigit() else ""
    return ParsedEntry(
        message=line.message,
        timestamp=ns_to_datetime(line.ts_ns),
        level=level,
        service=service,
        attributes={**line.attributes, "deploymentId": deployment},
    )


@register_source_kind
class RailwaySource(SourceAdapter):
    kind = "railway"
    label = "Railway"
    # How a Retry-After is waited out; tests replace it to see the waits without taking them.
    sleep: ClassVar[Callable[[float], None]] = staticmethod(time.sleep)

    @classmethod
    def settings_errors(cls, settings: dict[str, Any]) -> dict[str, str]:
        errors = {}
        if not str(settings.get("project_id") or "").strip():
            errors["project_id"] = "The Railway project id is required."
        services = settings.get("services", [])
        if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
            errors["services"] = "A list of service names or ids (empty: every service)."
        limit = settings.get("limit", DEFAULT_LIMIT)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            errors["limit"] = f"A whole number from 1 to {MAX_LIMIT}."
        if settings.get("token_kind", BEARER) not in TOKEN_KINDS:
            errors["token_kind"] = f"{BEARER} (account or workspace token) or {PROJECT}"
        if "token" in settings:
            errors["token"] = TOKEN_IN_SETTINGS
        return errors

    def client(self) -> RailwayLogsClient:
        token = self.source.secret or settings.RAILWAY_TOKEN
        if not token:
            raise SourceError("no Railway token: set RAILWAY_TOKEN or the source's token")
        return RailwayLogsClient(
            url=settings.RAILWAY_API_URL,
            token=token,
            token_kind=str(self.source.settings.get("token_kind") or BEARER),
            timeout=float(settings.RAILWAY_TIMEOUT_SECONDS),
            max_retry_wait=float(settings.RAILWAY_MAX_RETRY_WAIT),
            notes=self.notes,
            sleep=type(self).sleep,
        )

    def _services(self, client: RailwayLogsClient, project_id: str) -> dict[str, str]:
        """Service id -> name for the configured services."""
        by_name = client.service_ids(project_id)
        names = {service_id: name for name, service_id in by_name.items()}
        wanted = self.source.settings.get("services") or list(by_name)
        chosen, unknown = {}, []
        for service in wanted:
            if service in by_name:
                chosen[by_name[service]] = service
            elif service in names or _RAILWAY_ID.match(service):
                chosen[service] = names.get(service, service)
            else:
                unknown.append(service)
        if unknown:
            raise SourceError(f"no such Railway service in the project: {', '.join(unknown)}")
        return chosen

    def batches(self) -> Iterator[Batch]:
        """Each active deployment's streams, each from its own cursor. A query that fails
        (Railway's error, an unreadable answer) is noted and skipped: the other services,
        deployments and streams are still read, and the failed one's cursor stays put, so
        the next crawl asks again. A rate limit ends the crawl (it holds for every query)."""
        config = self.source.settings
        project_id = str(config.get("project_id") or "")
        client = self.client()
        now_ns = datetime_to_ns(self.now or timezone.now())
        end_ns = now_ns - int(config.get("settle_seconds", DEFAULT_SETTLE_SECONDS)) * NS_PER_SECOND
        lookback = int(config.get("lookback_minutes", DEFAULT_LOOKBACK_MINUTES)) * 60
        state = copy.deepcopy(self.source.cursor) if isinstance(self.source.cursor, dict) else {}
        known: dict[str, dict[str, Any]] = state.setdefault("deployments", {})
        active: set[str] = set()
        for service_id, name in self._services(client, project_id).items():
            try:
                deployments = client.deployments(
                    project_id=project_id,
                    environment_id=str(config.get("environment_id") or ""),
                    service_id=service_id,
                )
            except RateLimited:
                raise
            except SourceError as exc:
                self.notes.fail(f"deployments of {name}", str(exc))
                # Unknown whether they still run: keep reading the ones we know.
                active.update(d for d, r in known.items() if r.get("service") == name)
                continue
            for deployment in deployments:
                if deployment.active:
                    active.add(deployment.id)
                    known.setdefault(deployment.id, {"service": name})
        streams = [STREAM_LOGS] + ([STREAM_HTTP] if config.get("http_logs", True) else [])
        for deployment_id in list(known):
            record = known[deployment_id]
            complete = True
            for stream in streams:
                cursor = TimestampCursor.from_json(record.get(stream))
                start = (
                    cursor.ts_ns if cursor.ts_ns is not None else end_ns - lookback * NS_PER_SECOND
                )
                windows = crawl_windows(
                    self._fetcher(client, stream, deployment_id),
                    cursor,
                    start_ns=start,
                    end_ns=end_ns,
                    limit=int(config.get("limit", DEFAULT_LIMIT)),
                    notes=self.notes,
                )
                try:
                    for lines in windows:
                        record[stream] = cursor.as_json()
                        entries = self._entries(lines, stream, record["service"], deployment_id)
                        yield Batch(entries, copy.deepcopy(state))
                except RateLimited:
                    raise
                except SourceError as exc:
                    complete = False
                    label = "HTTP logs" if stream == STREAM_HTTP else "deployment logs"
                    self.notes.fail(
                        f"{label} of {record['service']} (deployment {deployment_id})", str(exc)
                    )
            if deployment_id not in active and complete:
                del known[deployment_id]
                yield Batch([], copy.deepcopy(state))

    def _fetcher(self, client: RailwayLogsClient, stream: str, deployment_id: str) -> Fetch:
        limit = int(self.source.settings.get("limit", DEFAULT_LIMIT))
        query = client.http_logs if stream == STREAM_HTTP else client.deployment_logs
        text_filter = str(self.source.settings.get("filter") or "")

        def fetch(start_ns: int, end_ns: int) -> list[RailwayLine]:
            return query(
                deployment_id=deployment_id,
                start_ns=start_ns,
                end_ns=end_ns,
                limit=limit,
                filter="" if stream == STREAM_HTTP else text_filter,
            )

        return fetch

    @staticmethod
    def _entries(
        lines: list[RailwayLine], stream: str, service: str, deployment_id: str
    ) -> list[ParsedEntry]:
        if stream == STREAM_HTTP:
            return [_http_entry(line, service=service, deployment=deployment_id) for line in lines]
        entries = [_deploy_entry(line, service=service, deployment=deployment_id) for line in lines]
        return join_entries(entries)
