"""Prepay settings: one flat file, configured from environment variables.

Environment:
  DATABASE_URL        default sqlite:///<PREPAY_VAR_DIR>/prepay.sqlite3 (embedded, WAL, IMMEDIATE)
  PREPAY_VAR_DIR      where the embedded database, backups and key file live (default ./var)
  PREPAY_SECRET_KEY   Django secret key (a random one is created in PREPAY_VAR_DIR when absent)
  PREPAY_DEBUG        "1" for debug pages
  PREPAY_TIME_ZONE    default Asia/Shanghai
  PREPAY_LANGUAGE     default zh-hans
  PREPAY_ALLOWED_HOSTS comma separated, default 127.0.0.1,localhost
  PREPAY_ROUNDING     money rounding mode name from `decimal` (default ROUND_HALF_UP)
  PREPAY_CONN_MAX_AGE seconds a database connection is kept between requests (default 60; 0 closes each time)
  PREPAY_PG_PREPARE   PostgreSQL: runs of a statement on a connection after which it is prepared (default
                      5; 0 never, e.g. behind PgBouncer in transaction mode; prepay/common/pgconfig.py)
  PREPAY_REPLICA_URL  postgres://… of a streaming-replication standby of DATABASE_URL: report pages read
                      there (prepay/common/replica.py, docs/reports.md); unset: everything reads the primary
  PREPAY_READING_RETENTION_MONTHS  PostgreSQL: whole months of meter readings kept attached (default 0:
                      all); older monthly partitions are detached into the prepay_archive schema
  PREPAY_PUBLIC_URL   the address printed in receipt QR codes (default: the request's host)
  PREPAY_EXPORT_DIRECT_ROWS  rows up to which a report's Excel or PDF is answered in the request
                      (default 10000); larger Excel exports are prepared in the background
                      (prepay/reports/export_jobs.py, docs/reports.md)
  PREPAY_EXPORTS_IN_WEB "0": the web process does not start background exports itself; the billing
                      daemon (runbilling) runs them on its next pass (default "1": both may)

E-mail (notifications to customers and staff; prepay/notify/mailconfig.py, docs/billing.md):
  PREPAY_EMAIL_URL    how mail leaves: smtp://user:pass@host:587?tls=1 (STARTTLS),
                      smtps://user:pass@host (TLS, port 465), console:// (printed), file:///dir (files
                      of messages; file://mail is under PREPAY_VAR_DIR), memory://, off://;
                      ?from=prepay@example.cn sets the sender, ?timeout=10. Default: file://mail — the
                      demo and a fresh install keep every message in <PREPAY_VAR_DIR>/mail

Sign-in throttling (django-axes; see docs/security.md):
  PREPAY_LOGIN_FAILURES_PER_USER     failed sign-ins for one user name before it must wait (default 5)
  PREPAY_LOGIN_FAILURES_PER_ADDRESS  failed sign-ins from one address before it must wait (default 20)
  PREPAY_LOGIN_COOLOFF_MINUTES       the wait, counted from the latest failure (default 15)
  PREPAY_LOGIN_THROTTLE              "0" switches throttling off (default on)
  PREPAY_PROXY_COUNT   reverse proxies in front (default 0): the client's address is then taken from
                       X-Forwarded-For, as the nearest proxy saw it

HTTPS (see docs/security.md; off by default for the one-PC setup on http://127.0.0.1):
  PREPAY_HTTPS         "1": secure session and CSRF cookies, HSTS, redirect http to https, and trust
                       the reverse proxy's X-Forwarded-Proto header
  PREPAY_HSTS_SECONDS  HSTS max-age with PREPAY_HTTPS=1 (default 31536000, one year; 0 turns HSTS off)
  PREPAY_HSTS_INCLUDE_SUBDOMAINS  "1" adds includeSubDomains (default off)
  PREPAY_SSL_REDIRECT  "0" leaves redirecting http to the proxy (default on with PREPAY_HTTPS=1)
  PREPAY_PROXY_SSL_HEADER  the header the proxy sets to "https" (default X-Forwarded-Proto; empty: no
                       proxy, Django itself sees https)
  PREPAY_CSRF_TRUSTED_ORIGINS  comma separated origins, e.g. https://pay.example.cn, when the proxy
                       changes the host name
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from prepay.common.pgconfig import postgres_options
from prepay.notify.mailconfig import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PREPAY_VAR_DIR", BASE_DIR / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Return PREPAY_SECRET_KEY, or a per-installation key kept in VAR_DIR (created once, readable by
    its owner only from its first byte: mode 0600 in a 0700 folder)."""
    if key := os.environ.get("PREPAY_SECRET_KEY"):
        return key
    VAR_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("PREPAY_DEBUG")
ALLOWED_HOSTS = os.environ.get("PREPAY_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "prepay.common.apps.PrepayAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "simple_history",
    "axes",
    "csp",
    "ninja",  # serves Swagger UI from its own static files: /api/docs works offline and under the CSP
    "prepay.tenancy",
    "prepay.audit",
    "prepay.customers",
    "prepay.meters",
    "prepay.tariffs",
    "prepay.tokens",
    "prepay.vending",
    "prepay.telemetry",
    "prepay.billing",
    "prepay.notify",
    "prepay.imports",
    "prepay.dbcare",
    "prepay.web",
    "prepay.api",
    "prepay.counter",
    "prepay.reports",
    "prepay.reconciliation",  # ten-day reconciliation: handovers (上缴) and finance's sign-off
    "prepay.messaging",  # operator messages (网上交谈)
    "prepay.analytics",  # suspicious-consumption and energy analysis
    "prepay.payments",  # online payments: providers, orders, notifications, statements
    "prepay.portal",  # the customer self-service portal
    "prepay.cardbridge",  # `prepay cardbridge`: the counter PC's bridge to a card reader and printer
    "prepay.demo",  # `prepay demo`: demo data built with the staff's own actions (the top layer)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "prepay.common.middleware.RefuseControlCharacters",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the waiting page
]

ROOT_URLCONF = "prepay.urls"
WSGI_APPLICATION = "prepay.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "prepay.web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'prepay.sqlite3'}"),
        # keep server connections open between requests (a new PostgreSQL connection costs more than a vend)
        conn_max_age=int(os.environ.get("PREPAY_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # server-side binding, and statements run again and again prepared (PREPAY_PG_PREPARE); options
    # the URL gives itself (?sslmode=…) are kept and win
    DATABASES["default"]["OPTIONS"] = {
        **postgres_options(os.environ),
        **DATABASES["default"].get("OPTIONS", {}),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time, taken at BEGIN (no upgrade deadlocks), WAL so readers never block.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
if _replica_url := os.environ.get("PREPAY_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        _replica_url, conn_max_age=int(os.environ.get("PREPAY_CONN_MAX_AGE", "60")), conn_health_checks=True
    )
    if (
        "postgresql" not in DATABASES["default"]["ENGINE"]
        or "postgresql" not in DATABASES["replica"]["ENGINE"]
    ):
        raise ImproperlyConfigured(
            "PREPAY_REPLICA_URL needs PostgreSQL: DATABASE_URL and PREPAY_REPLICA_URL must both be postgres://…"
        )
    # tests: the replica reads the test database the primary's tests create (it arrives by replication)
    DATABASES["replica"]["OPTIONS"] = {
        **postgres_options(os.environ),
        **DATABASES["replica"].get("OPTIONS", {}),
    }
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["prepay.common.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PostgreSQL: meter readings are kept in monthly partitions; months older than this many whole months
# are detached into the prepay_archive schema by the billing daemon (0: keep every month attached)
try:
    PREPAY_READING_RETENTION_MONTHS = int(os.environ.get("PREPAY_READING_RETENTION_MONTHS", "0"))
except ValueError:
    raise ImproperlyConfigured("PREPAY_READING_RETENTION_MONTHS must be a whole number of months") from None
if PREPAY_READING_RETENTION_MONTHS and PREPAY_READING_RETENTION_MONTHS < 3:
    raise ImproperlyConfigured(
        "PREPAY_READING_RETENTION_MONTHS must be 0 (keep all) or at least 3: a shorter retention takes away "
        "the readings of the current and last billing cycles"
    )

# The axes backend first: it refuses every sign-in of a locked-out user name or address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("PREPAY_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "prepay" / "locale"]
TIME_ZONE = os.environ.get("PREPAY_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# The counter page connects (connect-src) to `prepay cardbridge` on the cashier's PC (docs/vending.md).
PREPAY_CARDBRIDGE_URL = os.environ.get("PREPAY_CARDBRIDGE_URL", "http://127.0.0.1:8765").rstrip("/")

# Content-Security-Policy on every response (django-csp): scripts only from our own static files (no
# inline script, no eval), nothing loaded from elsewhere, no framing. Styles may be inline (receipt
# @page sizes, the back office's widgets); images may be data: URIs (receipt QR codes, charts).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF, PREPAY_CARDBRIDGE_URL],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# HTTPS, for a server reached over a network (docs/security.md). Off by default: the one-PC setup
# serves http://127.0.0.1, where secure cookies would never be sent and HSTS would lock browsers out.
PREPAY_HTTPS = _env_bool("PREPAY_HTTPS")
SESSION_COOKIE_SECURE = PREPAY_HTTPS
CSRF_COOKIE_SECURE = PREPAY_HTTPS
SECURE_SSL_REDIRECT = PREPAY_HTTPS and _env_bool("PREPAY_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("PREPAY_HSTS_SECONDS", "31536000")) if PREPAY_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PREPAY_HTTPS and _env_bool("PREPAY_HSTS_INCLUDE_SUBDOMAINS")
_proxy_ssl_header = os.environ.get("PREPAY_PROXY_SSL_HEADER", "X-Forwarded-Proto").strip()
# Trust the proxy's word that the request came over https. The proxy must set (overwrite) this header;
# never use it when clients can reach Django directly, or they could claim https themselves.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
    if PREPAY_HTTPS and _proxy_ssl_header
    else None
)
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PREPAY_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# Sign-in throttling (django-axes, see prepay/web/lockouts.py and docs/security.md): failures count
# per user name and per address within the cool-off; at the limit every sign-in waits (the right
# password too) until the cool-off has passed since the latest failure, or an admin lifts the wait in
# the back office (Sign-in → failed sign-ins). Attempts live in the database (per test in tests).
AXES_ENABLED = _env_bool("PREPAY_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = int(os.environ.get("PREPAY_LOGIN_FAILURES_PER_USER", "5"))
PREPAY_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("PREPAY_LOGIN_FAILURES_PER_ADDRESS", "20"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("PREPAY_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "prepay.web.lockouts.LoginThrottle"
AXES_LOCKOUT_CALLABLE = "prepay.web.lockouts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "prepay.web.lockouts.client_address"
PREPAY_PROXY_COUNT = int(os.environ.get("PREPAY_PROXY_COUNT", "0"))
AXES_RESET_ON_SUCCESS = False  # a success must not wipe other names' failures from the same address
AXES_ENABLE_ADMIN = False  # the back office shows prepay.web.admin.FailedSignInAdmin instead
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are not logged row by row
AXES_VERBOSE = False

SIMPLE_HISTORY_REVERT_DISABLED = True  # history is for reading; changes go through actions

PREPAY_ROUNDING = os.environ.get("PREPAY_ROUNDING", "ROUND_HALF_UP")
PREPAY_BACKUP_DIR = Path(os.environ.get("PREPAY_BACKUP_DIR", VAR_DIR / "backups"))
PREPAY_EXPORT_DIRECT_ROWS = int(os.environ.get("PREPAY_EXPORT_DIRECT_ROWS", "10000"))
PREPAY_EXPORTS_IN_WEB = _env_bool("PREPAY_EXPORTS_IN_WEB", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PREPAY_LOG_LEVEL", "WARNING")},
}

# Receipts: the address customers reach, printed in each receipt's QR code (e.g. https://pay.example.cn);
# empty: the address of the request that rendered the receipt.
PREPAY_PUBLIC_URL = os.environ.get("PREPAY_PUBLIC_URL", "")

# E-mail: PREPAY_EMAIL_URL (see the top of this file) → Django's mail backend and its settings.
_EMAIL = email_settings(os.environ.get("PREPAY_EMAIL_URL"), var_dir=VAR_DIR)
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL["EMAIL_HOST"]
EMAIL_PORT = _EMAIL["EMAIL_PORT"]
EMAIL_HOST_USER = _EMAIL["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _EMAIL["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _EMAIL["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _EMAIL["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _EMAIL["EMAIL_TIMEOUT"]
EMAIL_FILE_PATH = _EMAIL["EMAIL_FILE_PATH"]
DEFAULT_FROM_EMAIL = _EMAIL["DEFAULT_FROM_EMAIL"]
SERVER_EMAIL = _EMAIL["SERVER_EMAIL"]
