"""Django settings, read from TOCSIN_* environment variables."""

import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

DEV_SECRET_KEY = "tocsin-development-secret-never-use-in-production"


def env(name, default=""):
    return os.environ.get(f"TOCSIN_{name}", default)


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_bool(name, default=False):
    value = env(name, "")
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent
TOCSIN_ENV = env("ENV", "development")
PRODUCTION = TOCSIN_ENV == "production"
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY", DEV_SECRET_KEY)
# Fernet keys; the first encrypts, all decrypt. Empty means a development key derived from SECRET_KEY.
TOCSIN_ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
TOCSIN_BLIND_INDEX_KEY = env("BLIND_INDEX_KEY")
TOCSIN_AUDIT_KEY = env("AUDIT_KEY")
TOCSIN_AUDIT_ANCHOR_FILE = env("AUDIT_ANCHOR_FILE", "./tocsin-audit.anchors")
TOCSIN_AUDIT_ANCHOR_SECONDS = int(env("AUDIT_ANCHOR_SECONDS", "300"))
TOCSIN_STEP_UP_MINUTES = int(env("STEP_UP_MINUTES", "5"))
TOCSIN_MAX_BODY_BYTES = 1024 * 1024
TOCSIN_SQLITE_SYNCHRONOUS = env("SQLITE_SYNCHRONOUS", "FULL").upper()
# Each app that has demo data adds a `load(actor)` here; `tocsin demo` calls them in order.
TOCSIN_DEMO_LOADERS = [
    "tocsin.directory.demo.load",
    "tocsin.catalog.demo.load",
    "tocsin.oncall.demo.load",
    "tocsin.escalation.demo.load",
    "tocsin.alerts.demo.load",
]
TOCSIN_DEFAULT_PHONE_REGION = env("DEFAULT_PHONE_REGION").upper() or None
TOCSIN_HR_SYNC_FILE = env("HR_SYNC_FILE")
TOCSIN_HR_SYNC_MINUTES = int(env("HR_SYNC_MINUTES", "60"))
TOCSIN_SUPERVISED_PARTS = [
    "tocsin.core.anchoring.AuditAnchorer",
    "tocsin.engine.part.EnginePart",
    "tocsin.alerts.smtp.SmtpPart",
]
# An external dead-man switch pinged every minute while the engine runs (empty: none).
TOCSIN_WATCHDOG_URL = env("WATCHDOG_URL")
# How long a send under way stays claimed before another run takes it again (the process died
# mid-send). Shorter means faster recovery; shorter than a slow provider's answer sends twice.
TOCSIN_SEND_LEASE_SECONDS = int(env("SEND_LEASE_SECONDS", "90"))
# Sends run in a process of their own beside the engine's (0: in a thread of the engine's process).
TOCSIN_SEND_PROCESS = env_bool("SEND_PROCESS", True)
# Where sends accepted by a provider are noted before the database hears of them (notify.journal).
TOCSIN_SEND_JOURNAL_DIR = env("SEND_JOURNAL_DIR", "")
# Later pages to one person on one channel within this many seconds go out as one message.
TOCSIN_BUNDLE_SECONDS = int(env("BUNDLE_SECONDS", "60"))

BASE_URL = env("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The domain of the integration e-mail addresses (<key>@domain); by default the host of BASE_URL.
TOCSIN_INBOUND_MAIL_DOMAIN = env("INBOUND_MAIL_DOMAIN", "")
# Outbound webhooks to loopback, private or link-local addresses are refused unless allowed.
TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_TO_PRIVATE_ADDRESSES")
_base_host = urlsplit(BASE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = sorted({"127.0.0.1", "localhost", "[::1]", _base_host, *env_list("ALLOWED_HOSTS")})
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "ninja",
    "simple_history",
    "tocsin.core",
    "tocsin.engine",
    "tocsin.directory",
    "tocsin.catalog",
    "tocsin.oncall",
    "tocsin.incidents",
    "tocsin.escalation",
    "tocsin.alerts",
    "tocsin.notify",
    "tocsin.web",
]

MIDDLEWARE = [
    "tocsin.core.middleware.RequestContextMiddleware",
    "tocsin.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tocsin.core.middleware.MfaEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tocsin.urls"
ASGI_APPLICATION = "tocsin.asgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tocsin.web.context.navigation",
            ],
        },
    },
]


def database_settings(url):
    # Under ASGI every request runs in a thread of its own, so a persistent connection would outlive
    # its request and pile up; connections close with their request. The engine keeps its own.
    config = dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing.
        # synchronous=FULL makes a committed transaction survive power loss, not only a crash.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; "
                f"PRAGMA synchronous={TOCSIN_SQLITE_SYNCHRONOUS}; "
                "PRAGMA foreign_keys=ON;"
            ),
        }
    return config


DATABASES = {"default": database_settings(env("DATABASE_URL", "sqlite:///./tocsin.db"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Brute force: lock the (username, IP) pair, never the username alone, so an
# attacker elsewhere cannot lock the on-call responder out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = "tocsin.core.lockout.cooloff"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "tocsin.core.lockout.locked_out_response"

OTP_TOTP_ISSUER = "Tocsin"
OTP_TOTP_THROTTLE_FACTOR = 1

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = 31536000
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = TOCSIN_MAX_BODY_BYTES

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# Files are served from the apps through the finders; set TOCSIN_STATIC_ROOT to collect them.
STATIC_ROOT = env("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500
NINJA_PAGINATION_CLASS = "tocsin.core.pagination.BoundedLimitOffset"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "tocsin.core.logs.RequestContextFilter"},
        "redact": {"()": "tocsin.core.logs.RedactionFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context", "redact"],
        },
    },
    "root": {"handlers": ["stderr"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
        # httpx logs every request's URL at INFO; a watchdog or webhook URL often carries a secret.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Static files and exports stream from synchronous iterators; under ASGI Django buffers them and
# warns on every response. The buffering is fine at these sizes.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
