"""Settings for YAM ticket closures.

Every setting that varies between machines comes from the environment, read here and only here
(a `.env` file beside manage.py is read first when present). A missing or malformed value stops
start-up with a message that names the variable. `.env.example` lists them all.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import csp.constants as csp
import environ
from cronsim import CronSim, CronSimError
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# cron starts jobs with a bare environment, so the settings load `.env` themselves.
# ENV_FILE points elsewhere; an empty ENV_FILE reads none (the test suite does that).
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file)


def _setting(name: str, cast: Callable[[str], Any], default: Any) -> Any:
    """Read `name` from the environment; a value that does not parse names the variable."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return cast(raw.strip())
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not valid: {exc}") from None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected a whole number of at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number of 0 or more")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def _int_list(raw: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in raw.split(",") if part.strip())
    if not values:
        raise ValueError("expected a comma-separated list of numbers, e.g. 4,5")
    return values


def _group_ids(raw: str) -> tuple[int, ...]:
    """FRESH_GROUP_ID: one agent group id, or several separated by commas (SPEC §16.5)."""
    parts = [part.strip() for part in raw.split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError(
            "expected agent group ids separated by commas, e.g. 18000294963,18000295127"
        )
    ids = tuple(int(part) for part in parts)
    if len(set(ids)) != len(ids):
        raise ValueError("a group is listed twice")
    return ids


def _time_zone(raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name such as Europe/London") from None
    return raw


def _endpoint(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("expected a URL such as https://acme.freshservice.com/api/v2/")
    return raw if raw.endswith("/") else raw + "/"


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 <= value < 1:
        raise ValueError("expected a fraction from 0 up to (not including) 1, e.g. 0.2 for 20 %")
    return value


def _days(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 365:
        raise ValueError("expected a whole number of days from 1 to 365")
    return value


def _url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("expected a URL such as https://hooks.example.com/services/T000/B000/XXX")
    return raw


def _email_list(raw: str) -> tuple[str, ...]:
    addresses = tuple(part.strip() for part in raw.split(",") if part.strip())
    bad = [address for address in addresses if "@" not in address.strip("@")]
    if bad or not addresses:
        raise ValueError("expected comma-separated email addresses, e.g. lead@example.com")
    return addresses


def _email_url(raw: str) -> dict[str, Any]:
    scheme = urlsplit(raw).scheme
    if scheme not in environ.Env.EMAIL_SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use e.g. smtp+tls://user:pass@host:587")
    # django-environ gives None for the parts a URL leaves out; Django wants its defaults there.
    return {
        name: value
        for name, value in environ.Env.email_url_config(raw).items()
        if value not in (None, "")
    }


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _workdays(raw: str) -> tuple[int, ...]:
    """`mon,tue,wed,thu,fri` -> (0, 1, 2, 3, 4): weekday numbers, Monday 0 (date.weekday());
    names in full or their first three letters, in any case."""
    numbers = set()
    for part in raw.lower().split(","):
        name = part.strip()
        days = [n for n, day in enumerate(_WEEKDAYS) if name in {day, day[:3]}]
        if not days:
            raise ValueError("expected weekday names separated by commas, e.g. mon,tue,wed,thu,fri")
        numbers.update(days)
    return tuple(sorted(numbers))


def _cron(raw: str) -> str:
    expression = " ".join(raw.split())
    try:
        CronSim(expression, datetime.now(UTC))
    except CronSimError as exc:
        raise ValueError(f"expected a cron expression such as '0 8-18 * * *' ({exc})") from None
    return expression


DEBUG = _setting("DEBUG", _bool, False)

if DEBUG:
    SECRET_KEY = _setting("SECRET_KEY", str, "django-insecure-dev-only-key-never-use-in-production")
else:
    SECRET_KEY = _setting("SECRET_KEY", str, None)
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) refuses to start without it; set "
            "SECRET_KEY in the environment or .env. On a development machine, `make run` writes "
            "a .env with DEBUG=1 and a key of its own (or set DEBUG=1)."
        )

# --- HTTPS (production): on unless DEBUG; HTTPS=0 for a site served over plain HTTP ----------
# Under DEBUG it stays off unless HTTPS=1 asks for it: `make run` serves plain HTTP.
HTTPS = _setting("HTTPS", _bool, not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Monitoring probes often speak plain HTTP to the app server directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from clients).
if _setting("TRUST_X_FORWARDED_PROTO", _bool, False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

ALLOWED_HOSTS = _setting(
    "ALLOWED_HOSTS",
    lambda raw: [host.strip() for host in raw.split(",") if host.strip()],
    ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [],
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # tickets comes before django_crontab so that its `crontab` command (which refuses to
    # pretend when the crontab program is missing) wins over the library's.
    "tickets",
    "django_crontab",
    # Demo mode's stand-in Freshservice and `runsite`; production code never imports it.
    "demo",
    # Failed log-ins locked out per user and address (SPEC §19.5); admin: Axes > Access attempts.
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Static files straight from the app server (gunicorn), no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A signed-in browser's repeat read of an API answer: 304 before DRF (SPEC §19.6).
    "tickets.api.etag.ConditionalReadMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into the locked-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "yam.urls"
WSGI_APPLICATION = "yam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yam.context_processors.demo_mode",
            ],
        },
    },
]


def _database(raw: str) -> dict[str, Any]:
    scheme = urlsplit(raw).scheme
    if scheme not in environ.Env.DB_SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use e.g. postgres://user:pass@host/db")
    return environ.Env.db_url_config(raw)


# Run on every new SQLite connection (see below).
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
DATABASES = {
    "default": _setting("DATABASE_URL", _database, None)
    or _database(f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # cron starts jobs in the home directory: a relative SQLite path means this folder.
    _sqlite_name = str(DATABASES["default"]["NAME"])
    if _sqlite_name not in {"", ":memory:"} and not Path(_sqlite_name).is_absolute():
        DATABASES["default"]["NAME"] = str(BASE_DIR / _sqlite_name)
    # Concurrent writers wait for the write lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # The write-ahead log: readers (the page, the API, wall screens) never wait for a sync's
    # write nor it for them, and a commit appends to db.sqlite3-wal instead of rewriting the
    # file through a rollback journal. synchronous=NORMAL syncs to disk at checkpoints, not at
    # every commit: a crash of the app loses nothing, a power cut at most the last commits
    # (a sync's, fetched again by the next one). The folder must be on a local disk (WAL
    # shares memory through db.sqlite3-shm); an in-memory database ignores it.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", SQLITE_PRAGMAS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = _setting("TIME_ZONE", _time_zone, "UTC")
# The desk's working days (SPEC §16.7): `last_workday`, the digest, `average_per_workday`.
WORKDAYS = _setting("WORKDAYS", _workdays, (0, 1, 2, 3, 4))
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # filled by `manage.py collectstatic` in production
# Without collectstatic (development, tests) whitenoise finds the files in the apps instead; it
# warns "No directory at: …/staticfiles/" then, which is expected there.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Log-in throttling (SPEC §19.5): django-axes -------------------------------------------------
# LOGIN_FAILURE_LIMIT failed log-ins for one username from one address lock that pair out for
# LOGIN_LOCKOUT_MINUTES (a success before the limit starts the count again). Every log-in page
# counts: /accounts/login/, /admin/login/ and the API's /api-auth/login/. An admin unlocks early
# by deleting the pair's row in the admin's "Access attempts" (or `manage.py axes_reset`).
LOGIN_FAILURE_LIMIT = _setting("LOGIN_FAILURE_LIMIT", _positive_int, 5)
LOGIN_LOCKOUT_MINUTES = _setting("LOGIN_LOCKOUT_MINUTES", _positive_int, 15)
AUTHENTICATION_BACKENDS = [
    "yam.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Tries during the lock do not extend it: it ends LOGIN_LOCKOUT_MINUTES after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "yam.auth.locked_out"
# The address is the connection's (REMOTE_ADDR): behind a proxy it is the proxy's, and the lock
# then holds the username from everywhere.

# --- Content-Security-Policy (SPEC §19.5): django-csp ---------------------------------------------
# Every page, the admin and the API docs included, loads scripts, styles, fonts and data from
# this site only, and runs no inline script or style (JS and CSS are static files). Images may
# also be data: URIs (the admin's and Swagger UI's icons); no page may be framed or post
# elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
SESSION_DAYS = _setting("SESSION_DAYS", _positive_int, 30)
SESSION_COOKIE_AGE = int(timedelta(days=SESSION_DAYS).total_seconds())
# Wall screens (SPEC §17): seconds each period (Today, This Week, This Month) stays on screen.
TV_ROTATE_SECONDS = _setting("TV_ROTATE_SECONDS", _positive_int, 20)

REST_FRAMEWORK = {
    # Token first, so that an anonymous call is answered 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tickets.api.negotiation.ContentNegotiation",
    # Bad bodies (too deep, too large, too many fields) answer 400 JSON (SPEC §19.3).
    "DEFAULT_PARSER_CLASSES": [
        "tickets.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "tickets.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "tickets.api.renderers.BrowsableAPIWithInlineStyles",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "YAM ticket closures API",
    "DESCRIPTION": "Tickets closed per agent per day, imported hourly from Freshservice. "
    "Every endpoint needs a log-in: a session, or `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The docs page works offline: Swagger UI comes from drf-spectacular-sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tickets.api.schema.document_errors",
    ],
}

# --- Freshservice and the sync (SPEC §3) -----------------------------------------------------

FRESH_API = _setting("FRESH_API", str, "")
FRESH_ENDPOINT = _setting("FRESH_ENDPOINT", _endpoint, "")
# The agent groups whose closures count, each a team (SPEC §16.5); empty when not configured.
FRESH_GROUP_ID: tuple[int, ...] = _setting("FRESH_GROUP_ID", _group_ids, ())
FRESH_WORKSPACE_ID = _setting("FRESH_WORKSPACE_ID", _non_negative_int, None)
FRESH_CLOSED_STATUSES = _setting("FRESH_CLOSED_STATUSES", _int_list, (4, 5))
FRESH_IDS_FILE = _setting("FRESH_IDS_FILE", str, str(BASE_DIR / "freshworks" / "IDs.txt"))
SYNC_MIN_INTERVAL_MINUTES = _setting("SYNC_MIN_INTERVAL_MINUTES", _non_negative_int, 60)
FRESH_TIMEOUT_SECONDS = _setting("FRESH_TIMEOUT_SECONDS", _positive_int, 30)
FRESH_MAX_WAIT_SECONDS = _setting("FRESH_MAX_WAIT_SECONDS", _non_negative_int, 120)
# The share of the account's per-minute API budget left to its other integrations (SPEC §14.6).
FRESH_BUDGET_RESERVE = _setting("FRESH_BUDGET_RESERVE", _fraction, 0.20)
SYNC_SCHEDULE = _setting("SYNC_SCHEDULE", _cron, "0 8-18 * * *")
# The nightly repair (SPEC §14.4): a forced sync of the last REPAIR_DAYS days; empty is off.
REPAIR_SCHEDULE = _setting("REPAIR_SCHEDULE", _cron, "")
REPAIR_DAYS = _setting("REPAIR_DAYS", _days, 7)
# A sync that fetches more pages than this is a backfill (SPEC §15): written in batches as the
# pages arrive, resumable after a crash; up to it, all or nothing.
BACKFILL_PAGES_AT_ONCE = _setting("BACKFILL_PAGES_AT_ONCE", _positive_int, 50)
LOG_FILE = _setting("LOG_FILE", str, "")
DEMO_MODE = _setting("DEMO_MODE", _bool, False)
# Where `make run` (manage.py runsite) says which stand-in Freshservice its demo serves, so that
# the README's commands, separate processes, sync the running demo (tickets/freshservice_config).
DEMO_STATE_FILE = BASE_DIR / "var" / "demo.json"
# The total time a sync started from the web (the sync button, force-sync, the admin's action)
# may take, waits on Freshservice included; gunicorn.conf.py's worker timeout lies above it.
WEB_SYNC_SECONDS = _setting("WEB_SYNC_SECONDS", _positive_int, 25)

if FRESH_API and not FRESH_GROUP_ID:
    raise ImproperlyConfigured(
        "FRESH_GROUP_ID is not set. It is required once FRESH_API is set: it names the "
        "Freshservice agent group whose closures count (a number such as 18000294963; several "
        "groups separated by commas)."
    )

# --- The daily digest (SPEC §18): by email to DIGEST_TO and/or to a chat webhook --------------

DIGEST_SCHEDULE = _setting("DIGEST_SCHEDULE", _cron, "")
DIGEST_TO = _setting("DIGEST_TO", _email_list, ())
# A secret (it carries the webhook's token): never printed, logged or shown beyond its host.
DIGEST_WEBHOOK_URL = _setting("DIGEST_WEBHOOK_URL", _url, "")
# Where mail goes: smtp://, smtp+tls://, smtp+ssl://, consolemail:// ... (django-environ's forms).
# Without EMAIL_URL a development machine prints mail to the console.
_email_configured = _setting("EMAIL_URL", _email_url, None)
_email = _email_configured or _email_url("consolemail://" if DEBUG else "smtp://localhost:25")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = _setting("DEFAULT_FROM_EMAIL", str, "yam-ticket-closures@localhost")
if DIGEST_TO and _email_configured is None and not DEBUG:
    raise ImproperlyConfigured(
        "EMAIL_URL is not set. It is required once DIGEST_TO is set: it names the mail server "
        "the digest goes through (e.g. smtp+tls://user:password@mail.example.com:587)."
    )

CRONJOBS = [(SYNC_SCHEDULE, "tickets.cron.scheduled_sync")]
if REPAIR_SCHEDULE:
    CRONJOBS.append((REPAIR_SCHEDULE, "tickets.cron.repair_sync"))
if DIGEST_SCHEDULE:
    CRONJOBS.append((DIGEST_SCHEDULE, "tickets.cron.send_digest"))
CRONTAB_COMMENT = "yam-ticket-closures"

# --- Logging: stderr always, LOG_FILE too when set ---------------------------------------------

_log_handlers: dict[str, dict[str, Any]] = {
    "stderr": {"class": "yam.log.CurrentStderrHandler", "formatter": "plain"},
}
if LOG_FILE:
    _log_path = Path(LOG_FILE)
    if not _log_path.is_absolute():
        _log_path = BASE_DIR / _log_path
    _log_path.parent.mkdir(parents=True, exist_ok=True)
    _log_handlers["file"] = {
        "class": "logging.FileHandler",
        "filename": str(_log_path),
        "formatter": "plain",
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "yam.log.KeyHidingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": _log_handlers,
    "loggers": {
        "tickets": {"handlers": list(_log_handlers), "level": "INFO", "propagate": False},
        "freshworks": {"handlers": list(_log_handlers), "level": "INFO", "propagate": False},
        "demo": {"handlers": list(_log_handlers), "level": "INFO", "propagate": False},
        "django_crontab": {"handlers": list(_log_handlers), "level": "INFO", "propagate": False},
        # Every unhandled exception of a request (a 500), with its traceback; Django's own
        # configuration prints these only under DEBUG and otherwise mails ADMINS, which we lack.
        "django.request": {"handlers": list(_log_handlers), "level": "ERROR", "propagate": False},
    },
}
