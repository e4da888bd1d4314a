"""Labelled log corpora of shapes the Loghub samples lack, for the benchmark and the tests.

Loghub's eight systems are long, fixed-format daemon logs. Services log differently: short
messages whose one variable is a plain word ("queue emails is full"), logfmt and JSON lines,
and proxies' access and connection logs (nginx, HAProxy, Envoy). Each corpus here is made
from templates with known variables, so every line carries its true template id, and
accuracy is measured as on Loghub (``evaluation.grouping_accuracy``). Templates that differ
only in an event word ("worker ... started" / "stopped", "Powered On" / "Off") are
different templates on purpose: merging them is as wrong as splitting a variable.

Deterministic: the same seed gives the same lines. Raw lines, as a file or an ingest body
holds them, fingerprinted through ``parse_line`` as ingest does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Sample = Callable[[random.Random], str]


def _words(text: str) -> list[str]:
    return text.split()


_NAMES = _words(
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy "
    "rupert sybil trent victor walter xavier yvonne zoe"
)
_WORDS = _words(
    "emails invoices thumbnails exports webhooks reports payouts search billing inventory "
    "shipping catalog pricing ledger audit notifications"
)
_CITIES = _words("Berlin Paris Lisbon Madrid Oslo Vienna Dublin Prague Warsaw Athens Rome")
_FLAGS = _words("new-checkout dark-mode fast-search beta-pricing one-click recs-v2 bulk-export")
_REGIONS = _words("eu-west us-east ap-south sa-east eu-north")
_PATHS = (
    "/api/orders/{n}",
    "/api/users/{n}/profile",
    "/api/cart",
    "/static/app.{h}.js",
    "/healthz",
    "/api/search?q={w}",
    "/api/orders/{n}/items/{m}",
)
_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
_STATUSES = (200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504)
_AGENTS = ('"curl/8.5.0"', '"Mozilla/5.0 (X11; Linux x86_64)"', '"okhttp/4.12.0"', '"-"')


@dataclass(frozen=True)
class LabelledLine:
    line: str
    template: str


@dataclass(frozen=True)
class Corpus:
    name: str
    lines: list[LabelledLine]

    @property
    def texts(self) -> list[str]:
        return [item.line for item in self.lines]

    @property
    def truth(self) -> list[str]:
        return [item.template for item in self.lines]


def _ip(r: random.Random) -> str:
    return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _hex(r: random.Random, n: int = 8) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def _uuid(r: random.Random) -> str:
    return f"{_hex(r, 8)}-{_hex(r, 4)}-4{_hex(r, 3)}-a{_hex(r, 3)}-{_hex(r, 12)}"


def _letter(r: random.Random) -> str:
    return r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")


def _path(r: random.Random) -> tuple[str, str]:
    """A request path and its route shape (the part of the truth that is not variable)."""
    shape = r.choice(_PATHS)
    path = shape.format(
        n=r.randint(1, 99999), m=r.randint(1, 99), h=_hex(r, 10), w=r.choice(_WORDS)
    )
    route = (
        shape.replace("{n}", "<*>").replace("{m}", "<*>").replace("app.{h}.js", "app.<*>.js")
    ).split("?")[0]
    return path, route


def _stamp(r: random.Random) -> datetime:
    return datetime(2025, 6, 2, tzinfo=UTC) + timedelta(seconds=r.randint(0, 86_399))


# --- short service messages -------------------------------------------------------------
# (template id, sample). Pairs that differ in one event word are two templates.
_SHORT: list[tuple[str, Sample]] = [
    ("line", lambda r: f"rotation-test new line {_letter(r)}"),
    ("queue-full", lambda r: f"queue {r.choice(_WORDS)} is full"),
    ("queue-drained", lambda r: f"queue {r.choice(_WORDS)} drained"),
    ("worker-started", lambda r: f"worker {r.choice(_NAMES)}-{r.randint(1, 9)} started"),
    ("worker-stopped", lambda r: f"worker {r.choice(_NAMES)}-{r.randint(1, 9)} stopped"),
    ("shard-healthy", lambda r: f"shard {_letter(r)} is healthy"),
    ("shard-degraded", lambda r: f"shard {_letter(r)} is degraded"),
    ("login", lambda r: f"user {r.choice(_NAMES)} logged in"),
    ("logout", lambda r: f"user {r.choice(_NAMES)} logged out"),
    ("flag-on", lambda r: f"feature flag {r.choice(_FLAGS)} enabled"),
    ("flag-off", lambda r: f"feature flag {r.choice(_FLAGS)} disabled"),
    ("powered-on", lambda r: "scanner Powered On"),
    ("powered-off", lambda r: "scanner Powered Off"),
    ("cache-warm", lambda r: f"cache warmed in {r.randint(3, 900)} ms"),
    ("leader", lambda r: f"leader elected: {r.choice(_NAMES)}"),
    ("region", lambda r: f"failing over to region {r.choice(_REGIONS)}"),
    ("retry", lambda r: f"retrying {r.choice(_WORDS)} after {r.randint(1, 30)}s"),
    ("ready", lambda r: "ready to accept connections"),
    ("shutdown", lambda r: "shutting down gracefully"),
    ("ship", lambda r: f"order {r.randint(1000, 99999)} shipped to {r.choice(_CITIES)}"),
    ("tenant", lambda r: f"tenant {r.choice(_WORDS)} over quota"),
    ("export", lambda r: f"export {_uuid(r)} finished"),
    ("conn-ok", lambda r: f"connected to {r.choice(_WORDS)}-db"),
    ("conn-lost", lambda r: f"lost connection to {r.choice(_WORDS)}-db"),
    ("mig-applied", lambda r: f"migration {r.randint(1, 300):04d}_{r.choice(_WORDS)} applied"),
    ("mig-failed", lambda r: f"migration {r.randint(1, 300):04d}_{r.choice(_WORDS)} failed"),
]

# --- logfmt -------------------------------------------------------------------------------
_LOGFMT: list[tuple[str, Sample]] = [
    (
        "req",
        lambda r: (
            f'level=info msg="request done" method={r.choice(_METHODS)} '
            f"status={r.choice(_STATUSES)} duration={r.randint(1, 900)}ms user={r.choice(_NAMES)}"
        ),
    ),
    (
        "cache",
        lambda r: (
            f'level=debug msg="cache refreshed" entries={r.randint(1, 9999)} '
            f"took={r.randint(1, 99)}ms"
        ),
    ),
    (
        "declined",
        lambda r: (
            f'level=warn msg="payment declined" order={r.randint(1000, 99999)} '
            f"reason={r.choice(['insufficient_funds', 'expired_card', 'fraud_suspected'])}"
        ),
    ),
    (
        "login",
        lambda r: (
            f'level=info msg="user login" user={r.choice(_NAMES)} ip={_ip(r)} '
            f"mfa={r.choice(['true', 'false'])}"
        ),
    ),
    (
        "job-failed",
        lambda r: (
            f'level=error msg="job failed" job={r.choice(_WORDS)} attempt={r.randint(1, 5)} '
            f'error="timeout after {r.randint(5, 60)}s"'
        ),
    ),
    (
        "job-done",
        lambda r: f'level=info msg="job done" job={r.choice(_WORDS)} items={r.randint(0, 5000)}',
    ),
    (
        "processed",
        lambda r: (
            f'level=info msg="processed {r.randint(1, 999)} events from {r.choice(_WORDS)}" '
            f"lag={r.randint(0, 90)}s"
        ),
    ),
    (
        "tenant",
        lambda r: (
            f'level=warn msg="tenant {r.choice(_WORDS)} over quota" '
            f"used={r.randint(100, 999)} limit=100"
        ),
    ),
]

# --- JSON lines ---------------------------------------------------------------------------
_JSON: list[tuple[str, Callable[[random.Random], dict[str, object]]]] = [
    (
        "ship",
        lambda r: {
            "level": "info",
            "message": f"order {r.randint(1000, 99999)} shipped to {r.choice(_CITIES)}",
            "carrier": r.choice(["dhl", "ups", "gls"]),
        },
    ),
    (
        "profile",
        lambda r: {"level": "info", "msg": f"user {r.choice(_NAMES)} updated their profile"},
    ),
    (
        "sessions",
        lambda r: {"level": "info", "message": f"deleted {r.randint(0, 500)} stale sessions"},
    ),
    (
        "cache-miss",
        lambda r: {
            "level": "debug",
            "message": f"cache miss for key user:{r.randint(1, 9999)}:profile",
        },
    ),
    (
        "webhook",
        lambda r: {
            "level": "error",
            "message": f"webhook delivery to {r.choice(_WORDS)} failed",
            "attempt": r.randint(1, 5),
            "status": r.choice([500, 502, 503]),
        },
    ),
    (
        "mail",
        lambda r: {
            "level": "info",
            "message": f"sent {r.randint(1, 40)} emails to {r.choice(_NAMES)}@example.com",
        },
    ),
    (
        "flag",
        lambda r: {"level": "info", "message": f"feature flag {r.choice(_FLAGS)} enabled"},
    ),
    (
        "flag-off",
        lambda r: {"level": "info", "message": f"feature flag {r.choice(_FLAGS)} disabled"},
    ),
    (
        "slow",
        lambda r: {
            "level": "warning",
            "message": f"slow query on {r.choice(_WORDS)} took {r.randint(500, 9000)} ms",
        },
    ),
]


def _nginx(r: random.Random) -> LabelledLine:
    path, route = _path(r)
    method, status = r.choice(_METHODS), r.choice(_STATUSES)
    when = _stamp(r).strftime("%d/%b/%Y:%H:%M:%S +0000")
    line = (
        f'{_ip(r)} - - [{when}] "{method} {path} HTTP/1.1" {status} {r.randint(0, 90000)} '
        f'"-" {r.choice(_AGENTS)}'
    )
    return LabelledLine(line, f"http {method} {route} {status // 100}xx")


def _envoy(r: random.Random) -> LabelledLine:
    path, route = _path(r)
    method, status = r.choice(_METHODS), r.choice(_STATUSES)
    flags = "UF" if status in (502, 503) and r.random() < 0.5 else "-"
    when = _stamp(r).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    line = (
        f'[{when}] "{method} {path} HTTP/1.1" {status} {flags} 0 {r.randint(0, 90000)} '
        f'{r.randint(1, 900)} {r.randint(1, 900)} "{_ip(r)}" {r.choice(_AGENTS)} '
        f'"{_uuid(r)}" "api.example.com" "10.0.1.{r.randint(1, 9)}:8080"'
    )
    return LabelledLine(line, f"http {method} {route} {status // 100}xx")


def _haproxy_http(r: random.Random) -> LabelledLine:
    path, route = _path(r)
    method, status = r.choice(_METHODS), r.choice(_STATUSES)
    when = _stamp(r).strftime("%d/%b/%Y:%H:%M:%S.123")
    line = (
        f"haproxy[{r.randint(100, 9999)}]: {_ip(r)}:{r.randint(1024, 65535)} [{when}] "
        f"fe_http be_api/srv{r.randint(1, 4)} 0/0/1/{r.randint(1, 900)}/{r.randint(1, 900)} "
        f"{status} {r.randint(0, 90000)} - - ---- 1/1/0/0/0 0/0 "
        f'"{method} {path} HTTP/1.1"'
    )
    return LabelledLine(line, f"http {method} {route} {status // 100}xx")


_HAPROXY_TCP_ENDINGS = (
    ("--", "closed normally"),
    ("cD", "client timeout"),
    ("SC", "server refused"),
    ("CD", "client aborted"),
)


def _haproxy_tcp(r: random.Random) -> LabelledLine:
    backend, server = r.choice([("be_db", "pg"), ("be_cache", "redis"), ("be_mq", "rabbit")])
    code, meaning = r.choice(_HAPROXY_TCP_ENDINGS)
    when = _stamp(r).strftime("%d/%b/%Y:%H:%M:%S.456")
    line = (
        f"haproxy[{r.randint(100, 9999)}]: {_ip(r)}:{r.randint(1024, 65535)} [{when}] "
        f"fe_tcp {backend}/{server}{r.randint(1, 3)} {r.randint(0, 9)}/{r.randint(0, 9)}/"
        f"{r.randint(1, 99999)} {r.randint(0, 999999)} {code} {r.randint(0, 99)}/"
        f"{r.randint(0, 99)}/{r.randint(0, 9)}/{r.randint(0, 9)}/0 0/0"
    )
    return LabelledLine(line, f"tcp {backend} {meaning}")


def _nginx_error(r: random.Random) -> LabelledLine:
    when = _stamp(r).strftime("%Y/%m/%d %H:%M:%S")
    pid = r.randint(10, 99)
    upstream = f"10.0.1.{r.randint(1, 9)}:8080"
    path, _ = _path(r)
    kind = r.choice(["refused", "timeout", "reset"])
    what = {
        "refused": "connect() failed (111: Connection refused) while connecting to upstream",
        "timeout": "upstream timed out (110: Connection timed out) while reading response "
        "header from upstream",
        "reset": "recv() failed (104: Connection reset by peer) while reading response "
        "header from upstream",
    }[kind]
    line = (
        f"{when} [error] {pid}#{pid}: *{r.randint(1, 99999)} {what}, client: {_ip(r)}, "
        f'server: api.example.com, request: "GET {path} HTTP/1.1", '
        f'upstream: "http://{upstream}{path}", host: "api.example.com"'
    )
    return LabelledLine(line, f"nginx-error {kind}")


def _weighted(r: random.Random, count: int) -> int:
    """An index in range(count), the first ones more often (log traffic is skewed)."""
    return min(int(r.paretovariate(1.2)) - 1, count - 1)


def _from_templates(
    name: str, templates: list[tuple[str, Sample]], lines: int, seed: int
) -> Corpus:
    r = random.Random(seed)
    order = list(range(len(templates)))
    r.shuffle(order)
    out = []
    for _ in range(lines):
        # Every template at least now and then, the commonest far more often.
        index = order[_weighted(r, len(order))] if r.random() < 0.7 else r.randrange(len(order))
        template, sample = templates[index]
        out.append(LabelledLine(sample(r), f"{name}:{template}"))
    return Corpus(name, out)


def short_messages(lines: int = 2000, seed: int = 1) -> Corpus:
    """Short service messages, timestamped and levelled as an application logs them."""
    corpus = _from_templates("short", _SHORT, lines, seed)
    r = random.Random(seed + 100)
    stamped = [
        LabelledLine(
            f"{_stamp(r):%Y-%m-%dT%H:%M:%S}.{r.randint(0, 999):03d}Z INFO {item.line}",
            item.template,
        )
        for item in corpus.lines
    ]
    return Corpus("short-messages", stamped)


def logfmt_lines(lines: int = 2000, seed: int = 2) -> Corpus:
    corpus = _from_templates("logfmt", _LOGFMT, lines, seed)
    r = random.Random(seed + 100)
    stamped = [
        LabelledLine(f"ts={_stamp(r):%Y-%m-%dT%H:%M:%SZ} {item.line}", item.template)
        for item in corpus.lines
    ]
    return Corpus("key-value", stamped)


def json_lines(lines: int = 2000, seed: int = 3) -> Corpus:
    r = random.Random(seed)
    out = []
    for _ in range(lines):
        index = _weighted(r, len(_JSON)) if r.random() < 0.7 else r.randrange(len(_JSON))
        template, sample = _JSON[index]
        record = {"ts": f"{_stamp(r):%Y-%m-%dT%H:%M:%S}Z", "service": "orders", **sample(r)}
        out.append(LabelledLine(json.dumps(record), f"json:{template}"))
    return Corpus("json-lines", out)


def proxy_lines(lines: int = 2000, seed: int = 4) -> Corpus:
    """nginx and Envoy access logs, HAProxy HTTP and TCP connection logs, nginx errors."""
    r = random.Random(seed)
    makers = (_nginx, _envoy, _haproxy_http, _haproxy_tcp, _nginx_error)
    return Corpus("proxies", [r.choice(makers)(r) for _ in range(lines)])


def all_corpora(lines: int = 2000) -> list[Corpus]:
    return [short_messages(lines), logfmt_lines(lines), json_lines(lines), proxy_lines(lines)]
