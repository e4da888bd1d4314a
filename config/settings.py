"""Juggernaut settings. Every value comes from the environment through `config.env`.

Each variable is documented in docs/configuration.md; a test fails when one is read here
but not documented there.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_rate, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
# The site's layout, pages and static files: `templates/` in a checkout, linked into `config`
# so that an installed package carries them too (pyproject.toml's package data).
SITE_DIR = Path(__file__).resolve().parent / "templates"
# A checkout keeps its data in its own var/; an installed package in ./var of the directory it
# runs in, unless JUGGERNAUT_VAR_DIR says where (never inside site-packages).
IN_CHECKOUT = (BASE_DIR / "manage.py").is_file()
VAR_DIR = Path(
    env_str("JUGGERNAUT_VAR_DIR", str((BASE_DIR if IN_CHECKOUT else Path.cwd()) / "var"))
)

DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (set SECRET_KEY or SECRET_KEY_FILE)."
        )
    # A development key kept on disk so that logins survive a restart of `make run`.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served from here: no CDN, no internet
    "channels",
    "django_q",
    # Ours, from the ground up: a lower app never imports a higher one.
    "engine",
    "routing",
    "chat",
    "selfheal",
    "logcrawler",
    "codehealth",
    "incidents",  # the top: stands on all of the above; nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.login_throttle.LoginThrottleMiddleware",
    "config.middleware.FailedAuthenticationLimitMiddleware",
    "config.middleware.DashboardLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"times": "config.times"},
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600, minimum=0)
# PostgreSQL: each process's connection pool (config/database.py, docs/configuration.md).
DATABASE_POOL_MIN = env_int("DATABASE_POOL_MIN", 1, minimum=0)
DATABASE_POOL_MAX = env_int("DATABASE_POOL_MAX", 10, minimum=1)
DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 30, minimum=1)
if DATABASE_POOL_MIN > DATABASE_POOL_MAX:
    raise ImproperlyConfigured(
        f"DATABASE_POOL_MIN ({DATABASE_POOL_MIN}) is more than DATABASE_POOL_MAX "
        f"({DATABASE_POOL_MAX})."
    )


def _database() -> dict[str, Any]:
    if not DATABASE_URL:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return _sqlite(str(VAR_DIR / "juggernaut.sqlite3"))
    url = parse_database_url(DATABASE_URL)
    if url.engine.endswith("sqlite3"):
        return _sqlite(url.name)
    # A pool per process, bounded; a forked child drops its parent's (config/database.py).
    pool = {
        "min_size": DATABASE_POOL_MIN,
        "max_size": DATABASE_POOL_MAX,
        "timeout": DATABASE_POOL_TIMEOUT,
    }
    return {
        "ENGINE": url.engine,
        "NAME": url.name,
        "USER": url.user,
        "PASSWORD": url.password,
        "HOST": url.host,
        "PORT": url.port,
        "CONN_MAX_AGE": 0,  # the pool keeps them; Django's persistence cannot be combined
        "CONN_HEALTH_CHECKS": True,  # the pool checks a connection before handing it out
        "OPTIONS": {**dict(url.options or {}), "pool": pool},
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", f"test_{url.name}")},
    }


def _owner_only(path: str) -> None:
    """Create the database file readable by its owner only: it holds sessions and token
    digests. SQLite gives the -wal and -shm files it makes beside it the same mode."""
    if path == ":memory:" or path.startswith("file:"):
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # an existing file keeps its mode


def _sqlite(path: str) -> dict[str, Any]:
    _owner_only(path)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # IMMEDIATE takes the write lock when a transaction starts, so two workers can
            # never both read a pending task and then both claim it.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # Kept open like PostgreSQL's: opening one costs ~0.7 ms plus a schema load on its
        # first query, and closing the last one checkpoints the WAL (~1 ms per request).
        "CONN_MAX_AGE": CONN_MAX_AGE,
        # A file, not memory: tests that start worker processes share it with them.
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", str(VAR_DIR / "test_juggernaut.sqlite3"))},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels and django-q2 -------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Separate prefixes let several deployments (or test runs) share one Redis.
CHANNELS_REDIS_PREFIX = env_str("CHANNELS_REDIS_PREFIX", "juggernaut")

if REDIS_URL:
    # The publish/subscribe layer: several times the plain layer's throughput (bench/stream.py),
    # and no blocking read that redis-py 8's default 5 s socket timeout cuts (the plain layer
    # then drops every idle websocket with 1011 every 5 s: channels_redis issue #422).
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNELS_REDIS_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Q_CLUSTER: dict[str, Any] = {
    "name": "juggernaut",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # retry must exceed timeout, or a slow job is handed out a second time while it runs.
    "timeout": 120,
    "retry": 180,
    # django-q2 retries forever by default; one attempt, our engine does its own retries.
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "label": "Background jobs",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, API ------------------------------------------------------------------------
LOGIN_URL = "login"
# Django's ModelBackend, with the sign-in limits (config/login_throttle.py).
AUTHENTICATION_BACKENDS = ["config.login_throttle.ThrottledModelBackend"]
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# How long a process remembers who an API token belongs to; see engine/token_cache.py.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 1, minimum=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "engine.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # People only, by default: a worker token opens only the endpoints that ask for it.
    "DEFAULT_PERMISSION_CLASSES": ["config.api.permissions.IsHumanUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.PrincipalRateThrottle"],
    # DEFAULT_THROTTLE_RATES: API_THROTTLE_RATES, under "Limits" below.
    # The client address is REMOTE_ADDR: X-Forwarded-For is never believed here (behind a
    # proxy, Daphne's --proxy-headers sets the address; docs/security.md says how).
    "NUM_PROXIES": 0,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Juggernaut API",
    "DESCRIPTION": "Control plane for autonomous AI agents: tasks, workers, approvals.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get their own components, which say which strings may not be blank.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.document_common_errors",
    ],
}

# --- Engine -----------------------------------------------------------------------------
ENGINE_LEASE_SECONDS = env_int("ENGINE_LEASE_SECONDS", 60, minimum=5)
ENGINE_HEARTBEAT_GRACE_SECONDS = env_int("ENGINE_HEARTBEAT_GRACE_SECONDS", 90, minimum=5)
ENGINE_UNROUTABLE_AFTER_SECONDS = env_int("ENGINE_UNROUTABLE_AFTER_SECONDS", 300, minimum=0)
ENGINE_RETRY_BASE_SECONDS = env_int("ENGINE_RETRY_BASE_SECONDS", 10, minimum=0)
ENGINE_RETRY_MAX_SECONDS = env_int("ENGINE_RETRY_MAX_SECONDS", 3600, minimum=0)
# Tasks the built-in worker (run_worker, make run) works at once: several agent runs at once.
ENGINE_WORKER_CONCURRENCY = env_int("ENGINE_WORKER_CONCURRENCY", 4, minimum=1)
# Off behind a connection pooler that cannot keep prepared statements (PgBouncer < 1.21).
ENGINE_PREPARED_STATEMENTS = env_bool("ENGINE_PREPARED_STATEMENTS", default=True)
# Four eyes: nobody approves a dangerous task (ops task, dangerous tool call) they asked for.
FOUR_EYES = env_bool("FOUR_EYES", default=False)

# --- Routing ----------------------------------------------------------------------------
# auto: OpenRouter if a key is set, else the OpenAI-compatible URL if set, else offline.
ROUTING_PROVIDER = env_str("ROUTING_PROVIDER", "auto").strip().lower()
if ROUTING_PROVIDER not in {"auto", "openrouter", "openai_compatible", "offline"}:
    raise ImproperlyConfigured(
        "ROUTING_PROVIDER must be auto, openrouter, openai_compatible or offline, "
        f"got {ROUTING_PROVIDER!r}"
    )
OPENROUTER_API_KEY = env_str("OPENROUTER_API_KEY")  # secret: never logged, never shown
OPENROUTER_BASE_URL = env_str("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1")
OPENROUTER_APP_URL = env_str("OPENROUTER_APP_URL")  # sent as HTTP-Referer
OPENROUTER_APP_TITLE = env_str("OPENROUTER_APP_TITLE", "Juggernaut")  # sent as X-Title
OPENAI_COMPATIBLE_BASE_URL = env_str("OPENAI_COMPATIBLE_BASE_URL")
OPENAI_COMPATIBLE_API_KEY = env_str("OPENAI_COMPATIBLE_API_KEY")  # secret
ROUTING_CONNECT_TIMEOUT = env_int("ROUTING_CONNECT_TIMEOUT", 5, minimum=1)
ROUTING_READ_TIMEOUT = env_int("ROUTING_READ_TIMEOUT", 120, minimum=1)
ROUTING_STREAM_TIMEOUT = env_int("ROUTING_STREAM_TIMEOUT", 600, minimum=1)
ROUTING_MAX_RETRIES = env_int("ROUTING_MAX_RETRIES", 2, minimum=0)
ROUTING_MAX_RETRY_WAIT = env_int("ROUTING_MAX_RETRY_WAIT", 30, minimum=0)
# Requests one model call may send upstream, retries and fallbacks together; docs/routing.md.
ROUTING_MAX_UPSTREAM_REQUESTS = env_int("ROUTING_MAX_UPSTREAM_REQUESTS", 3, minimum=1)
ROUTING_FAILURE_THRESHOLD = env_int("ROUTING_FAILURE_THRESHOLD", 3, minimum=1)
ROUTING_COOLDOWN_SECONDS = env_int("ROUTING_COOLDOWN_SECONDS", 300, minimum=0)
# false: ledger rows commit without waiting for the WAL flush (PostgreSQL); see docs/routing.md.
ROUTING_DURABLE_LEDGER = env_bool("ROUTING_DURABLE_LEDGER", default=False)
# How long a process keeps policies, prices and model health between reads; docs/routing.md.
ROUTING_LOOKUP_SECONDS = env_int("ROUTING_LOOKUP_SECONDS", 1, minimum=0)
# A call without a session reserves from a block this many times its estimate, held by the
# process for up to 5 s (routing/services/allowances.py); 0 or 1: every call its own row.
ROUTING_ALLOWANCE_CALLS = env_int("ROUTING_ALLOWANCE_CALLS", 20, minimum=0)
# Settlements the database refused wait here until they land (routing/services/outbox.py).
ROUTING_LEDGER_OUTBOX = VAR_DIR / "ledger-outbox"
# The gateway's rate limits, as DRF writes rates (600/min); empty turns one off.
GATEWAY_TOKEN_THROTTLE_RATE = env_str("GATEWAY_TOKEN_THROTTLE_RATE", "600/min")
GATEWAY_POLICY_THROTTLE_RATE = env_str("GATEWAY_POLICY_THROTTLE_RATE", "3000/min")

# --- Chat -------------------------------------------------------------------------------
# Loop guardrails: the model is nudged one repetition before the threshold, stopped at it.
CHAT_LOOP_REPEAT_CALLS = env_int("CHAT_LOOP_REPEAT_CALLS", 4, minimum=2)
CHAT_LOOP_REPEAT_FAILURES = env_int("CHAT_LOOP_REPEAT_FAILURES", 3, minimum=2)
CHAT_LOOP_ALTERNATIONS = env_int("CHAT_LOOP_ALTERNATIONS", 3, minimum=2)
CHAT_LOOP_REPEAT_ANSWERS = env_int("CHAT_LOOP_REPEAT_ANSWERS", 3, minimum=2)
CHAT_LOOP_EMPTY_ANSWERS = env_int("CHAT_LOOP_EMPTY_ANSWERS", 3, minimum=2)
# Steps in a row whose tool calls brought nothing new and changed nothing (a monologue).
CHAT_LOOP_IDLE_STEPS = env_int("CHAT_LOOP_IDLE_STEPS", 6, minimum=3)
# Proxies cut idle websockets after ~60 s; the heartbeat keeps them open.
CHAT_WS_HEARTBEAT_SECONDS = env_int("CHAT_WS_HEARTBEAT_SECONDS", 25, minimum=1)
CHAT_DELTA_FLUSH_MS = env_int("CHAT_DELTA_FLUSH_MS", 50, minimum=0)
CHAT_STOP_POLL_MS = env_int("CHAT_STOP_POLL_MS", 100, minimum=10)
# In-memory layer only: publishers wake the relay with a datagram; the poll is the safety net.
CHAT_RELAY_WAKE = env_bool("CHAT_RELAY_WAKE", default=True)
CHAT_RELAY_POLL_MS = env_int("CHAT_RELAY_POLL_MS", 1000, minimum=10)
CHAT_HISTORY_MESSAGES = env_int("CHAT_HISTORY_MESSAGES", 200, minimum=10)

# --- Self-heal --------------------------------------------------------------------------
SELFHEAL_FIX_TASK_KIND = env_str("SELFHEAL_FIX_TASK_KIND", "agent")
SELFHEAL_LOG_PATHS = env_list("SELFHEAL_LOG_PATHS", [str(VAR_DIR)])
# A repair's bounds hold over this window across all its runs (rules, buttons, API, chat).
SELFHEAL_BOUND_WINDOW_MINUTES = env_int("SELFHEAL_BOUND_WINDOW_MINUTES", 60, minimum=1)

# --- Log crawler ------------------------------------------------------------------------
RAILWAY_TOKEN = env_str("RAILWAY_TOKEN")  # secret: never logged, never shown
RAILWAY_API_URL = env_str("RAILWAY_API_URL", "https://backboard.railway.com/graphql/v2")
RAILWAY_TIMEOUT_SECONDS = env_int("RAILWAY_TIMEOUT_SECONDS", 30, minimum=1)
# A Retry-After up to this long is waited out inside a crawl; a longer one ends the crawl.
RAILWAY_MAX_RETRY_WAIT = env_int("RAILWAY_MAX_RETRY_WAIT", 30, minimum=0)
LOGCRAWLER_CRAWL_MINUTES = env_int("LOGCRAWLER_CRAWL_MINUTES", 5, minimum=1)
LOGCRAWLER_EVALUATE_MINUTES = env_int("LOGCRAWLER_EVALUATE_MINUTES", 1, minimum=1)
LOGCRAWLER_RETENTION_DAYS = env_int("LOGCRAWLER_RETENTION_DAYS", 14, minimum=1)
LOGCRAWLER_BATCH_LINES = env_int("LOGCRAWLER_BATCH_LINES", 5000, minimum=1)
LOGCRAWLER_INGEST_MAX_BYTES = env_int("LOGCRAWLER_INGEST_MAX_BYTES", 5_000_000, minimum=1024)
LOGCRAWLER_INGEST_MAX_ENTRIES = env_int("LOGCRAWLER_INGEST_MAX_ENTRIES", 10_000, minimum=1)
LOGCRAWLER_TASK_KIND = env_str("LOGCRAWLER_TASK_KIND", "agent")
LOGCRAWLER_FILE_ROOTS = env_list("LOGCRAWLER_FILE_ROOTS", [str(VAR_DIR), "/var/log"])
LOGCRAWLER_WEBHOOK_URL = env_str("LOGCRAWLER_WEBHOOK_URL")
LOGCRAWLER_WEBHOOK_SECRET = env_str("LOGCRAWLER_WEBHOOK_SECRET")  # secret

# --- Incidents --------------------------------------------------------------------------
# An error storm must not become a bill: investigations started per source per hour, and
# running at once. Past either, incidents are opened and wait (the page says why).
INCIDENTS_MAX_INVESTIGATIONS_PER_HOUR = env_int(
    "INCIDENTS_MAX_INVESTIGATIONS_PER_HOUR", 10, minimum=0
)
INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS = env_int(
    "INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS", 2, minimum=1
)
INCIDENTS_INVESTIGATION_TIMEOUT_SECONDS = env_int(
    "INCIDENTS_INVESTIGATION_TIMEOUT_SECONDS", 1200, minimum=60
)
# Verified when quiet for FACTOR x the groups' usual gap, within MIN and MAX minutes.
INCIDENTS_VERIFY_GAP_FACTOR = env_int("INCIDENTS_VERIFY_GAP_FACTOR", 5, minimum=1)
INCIDENTS_VERIFY_MIN_MINUTES = env_int("INCIDENTS_VERIFY_MIN_MINUTES", 15, minimum=1)
INCIDENTS_VERIFY_MAX_MINUTES = env_int("INCIDENTS_VERIFY_MAX_MINUTES", 1440, minimum=1)

# --- Code health ------------------------------------------------------------------------
# Checkouts of scanned commits, change worktrees and each repository's tool caches.
CODEHEALTH_WORK_DIR = Path(env_str("CODEHEALTH_WORK_DIR", str(VAR_DIR / "codehealth")))
CODEHEALTH_TOOL_TIMEOUT_SECONDS = env_int("CODEHEALTH_TOOL_TIMEOUT_SECONDS", 600, minimum=10)
CODEHEALTH_AUTOPR_MAX_OPEN = env_int("CODEHEALTH_AUTOPR_MAX_OPEN", 5, minimum=1)
CODEHEALTH_TASK_KIND = env_str("CODEHEALTH_TASK_KIND", "agent")
# The checkout `make run` registers as the repository "juggernaut"; empty: none.
CODEHEALTH_DEMO_REPOSITORY = env_str("CODEHEALTH_DEMO_REPOSITORY", str(BASE_DIR))
# The dependency audit's package indexes (empty: not asked), how long one question may
# take, and how long an answer is kept before it is asked again (with its ETag).
CODEHEALTH_PYPI_URL = env_str("CODEHEALTH_PYPI_URL", "https://pypi.org")
CODEHEALTH_NPM_URL = env_str("CODEHEALTH_NPM_URL", "https://registry.npmjs.org")
CODEHEALTH_INDEX_TIMEOUT_SECONDS = env_int("CODEHEALTH_INDEX_TIMEOUT_SECONDS", 5, minimum=1)
CODEHEALTH_INDEX_CACHE_SECONDS = env_int("CODEHEALTH_INDEX_CACHE_SECONDS", 86400, minimum=0)
# GitHub repositories: the token for those without one of their own (a secret: never logged,
# never shown), the API's base URL (GitHub Enterprise Server: https://HOST/api/v3), and the
# largest archive of a commit a scan or an auto-PR downloads.
GITHUB_TOKEN = env_str("GITHUB_TOKEN")
GITHUB_API_URL = env_str("GITHUB_API_URL", "https://api.github.com")
CODEHEALTH_GITHUB_MAX_CHECKOUT_MB = env_int("CODEHEALTH_GITHUB_MAX_CHECKOUT_MB", 100, minimum=1)

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Limits against abuse (docs/security.md "Limits") -------------------------------------
# The largest request body the server reads, for every path; smaller caps apply within it
# (DATA_UPLOAD_MAX_MEMORY_SIZE for the API and forms, the gateway's and the ingest's own).
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
# Django's own cap on a body it reads whole (forms, the API's JSON). The server has already
# refused anything larger and holds the rest in memory; a lower cap here only turned the
# gateway's 2.5-10 MiB bodies into errors.
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
# Failed sign-ins, counted per account and per client address, within a window; past either
# count the sign-in form answers 429 until the window ends, even to the right password.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 10, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
# API requests per principal (DRF throttle scopes, "N/second|minute|hour|day" or "off"),
# and answers of 401 per client address before that address is refused for a while.
API_THROTTLE_RATES = {
    "user": env_rate("API_RATE_PER_USER", "300/minute"),
    "worker": env_rate("API_RATE_PER_WORKER", "1200/minute"),
    "ingest": env_rate("API_RATE_INGEST", "600/minute"),
    "failed_auth": env_rate("API_RATE_FAILED_AUTH", "60/minute"),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = API_THROTTLE_RATES
# Counters live in this cache: Redis, shared by every process, when REDIS_URL is set;
# otherwise each process's memory (one Daphne process, as `make run` starts).
CACHES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "limits": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{CHANNELS_REDIS_PREFIX}:limits",
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "limits",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    ),
}

# --- I18n, static -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Instants are written one way everywhere, pages and admin alike: 2026-12-08 01:23:45, UTC.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [SITE_DIR / "static"]
SERVE_STATIC = env_bool("SERVE_STATIC", default=DEBUG)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
