"""Settings for every profile, driven by environment variables (django-environ).

With no environment set this is the *embedded* profile: SQLite and the Celery
broker live in a data folder, the cache is in-process, and nothing needs a server.
``TRADINGSITE_ENV=production`` switches to PostgreSQL and Redis and makes a
missing secret fail loudly at start-up. `.env.example` lists every variable.
"""

import contextlib
import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from ops.secret_store import password_for, secrets_at_start, url_user, url_with_password

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

TRADINGSITE_ENV = env.str("TRADINGSITE_ENV", default="embedded")
if TRADINGSITE_ENV not in {"embedded", "production"}:
    raise ImproperlyConfigured(
        f"TRADINGSITE_ENV must be 'embedded' or 'production', not {TRADINGSITE_ENV!r}."
    )
PRODUCTION = TRADINGSITE_ENV == "production"
DATA_DIR = Path(env.str("TRADINGSITE_DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# --- Secrets backend (ops.secret_store): where `rotate_secrets` writes rotated values ------
# They are read back here at start-up; a value set in the environment still wins.
SECRETS_BACKEND = env.str("SECRETS_BACKEND", default="file")
SECRETS_PATH = Path(
    env.str("SECRETS_PATH", default="")
    or DATA_DIR / ("k8s/tradingsite-secrets.yaml" if SECRETS_BACKEND == "k8s" else "secrets")
)
SECRETS_K8S_NAME = env.str("SECRETS_K8S_NAME", default="tradingsite-secrets")
SECRETS_K8S_NAMESPACE = env.str("SECRETS_K8S_NAMESPACE", default="tradingsite")
_stored_secrets = secrets_at_start(
    SECRETS_BACKEND, SECRETS_PATH, k8s_name=SECRETS_K8S_NAME, k8s_namespace=SECRETS_K8S_NAMESPACE
)
#: Rotated by ops.rotation: the PostgreSQL role (default: DATABASE_URL's user) and the
#: Redis ACL user (default: REDIS_URL's user; never "default"), and the privileged
#: connections that change them (default: the app's own DATABASE_URL / REDIS_URL).
POSTGRES_ROTATION_ROLE = env.str("POSTGRES_ROTATION_ROLE", default="")
POSTGRES_ROTATION_ADMIN_URL = env.str("POSTGRES_ROTATION_ADMIN_URL", default="")
REDIS_ROTATION_USER = env.str("REDIS_ROTATION_USER", default="")
REDIS_ROTATION_ADMIN_URL = env.str("REDIS_ROTATION_ADMIN_URL", default="")

if PRODUCTION:
    _missing = [
        name
        for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
        if not env.str(name, default="")
        and not (name == "SECRET_KEY" and _stored_secrets.get(name))
    ]
    if _missing:
        raise ImproperlyConfigured(
            "TRADINGSITE_ENV=production requires these environment variables: "
            + ", ".join(_missing)
        )


def _embedded_secret_key() -> str:
    """A per-installation key kept in the data folder, so the demo never ships a fixed key."""
    from django.core.management.utils import get_random_secret_key

    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # Web, worker and beat may start together: write aside, then link, which fails
        # if another process got there first, so every process ends up with one key.
        draft = key_file.with_name(f"secret_key.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w") as out:
            out.write(get_random_secret_key())
        with contextlib.suppress(FileExistsError):
            os.link(draft, key_file)
        draft.unlink()
    return key_file.read_text().strip()


SECRET_KEY = (
    env.str("SECRET_KEY", default="") or _stored_secrets.get("SECRET_KEY") or _embedded_secret_key()
)
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[]) or [
    key for key in _stored_secrets.get("SECRET_KEY_FALLBACKS", "").split(",") if key
]
#: AES-256-GCM keys for sensitive fields (ops.crypto): created in the data folder on the
#: embedded profile; in production, a mounted secret file.
FIELD_ENCRYPTION_KEYRING = env.path("FIELD_ENCRYPTION_KEYRING", default=DATA_DIR / "field_keys")
#: Signed seals of the audit chains' heads, kept outside the database (compliance.seals,
#: docs/audit-seals.md). The Ed25519 signing key: base64 of its 32-byte private key in
#: AUDIT_SEAL_KEY, or a PEM file (created in the data folder on the embedded profile only;
#: `manage.py audit_seal_key PATH` makes one). AUDIT_SEAL_PUBLIC_KEYS: more public keys
#: (base64) whose seals verify, e.g. the key before a rotation.
AUDIT_SEAL_KEY = env.str("AUDIT_SEAL_KEY", default="")
AUDIT_SEAL_KEY_FILE = Path(
    env.str("AUDIT_SEAL_KEY_FILE", default="") or DATA_DIR / "audit_seal_key.pem"
)
AUDIT_SEAL_PUBLIC_KEYS = env.list("AUDIT_SEAL_PUBLIC_KEYS", default=[])
#: Where seals go: file:///absolute/path (one line per seal) or s3://bucket/prefix (one
#: object per seal, in a bucket with object lock; AWS credentials from the usual chain).
_seal_file = DATA_DIR.resolve() / "audit-seals.jsonl"
AUDIT_SEAL_SINK = env.str("AUDIT_SEAL_SINK", default="") or f"file://{_seal_file}"
AUDIT_SEAL_S3_ENDPOINT_URL = env.str("AUDIT_SEAL_S3_ENDPOINT_URL", default="")
AUDIT_SEAL_S3_RETAIN_DAYS = env.int("AUDIT_SEAL_S3_RETAIN_DAYS", default=1827)  # 5 years
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when TRADINGSITE_ENV=production.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "ops.admin_config.BackOfficeAdminConfig",  # django.contrib.admin, with two-factor sign-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "django_prometheus",
    "django_guid",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ops",
    "compliance",
    "marketdata",
    "orders",
    "risk",
    "strategies",
    "web",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "ops.allowlist.AllowlistMiddleware",
    "ops.security_headers.SecurityHeadersMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, django-otp and messages: skipped for probes and for API requests without a
    # session cookie (ops.sessionless).
    "ops.sessionless.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "compliance.middleware.AuditContextMiddleware",
    "ops.sessionless.OTPMiddleware",
    "ops.sessionless.MessageMiddleware",
    "ops.daily_logout.DailyLogoutMiddleware",
    "ops.twofactor.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.security_headers.PrebuiltCSPMiddleware",  # django-csp, its policy built once
    "axes.middleware.AxesMiddleware",  # turns a lockout into ops.lockout's answer
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "tradingsite.urls"
WSGI_APPLICATION = "tradingsite.wsgi.application"
ASGI_APPLICATION = "tradingsite.asgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Web and worker processes connect as DATABASE_URL's user, the runtime role, which owns
# nothing. With DATABASE_MIGRATION_URL set, schema commands (manage.py sets
# TRADINGSITE_DATABASE_ROLE=owner for `migrate`) connect as its user, the schema owner
# (docs/database-roles.md). Unset, everything uses DATABASE_URL as before.
DATABASE_MIGRATION_URL = env.str("DATABASE_MIGRATION_URL", default="")
DATABASE_ROLE = env.str("TRADINGSITE_DATABASE_ROLE", default="runtime")
if DATABASE_ROLE not in {"runtime", "owner"}:
    raise ImproperlyConfigured(
        f"TRADINGSITE_DATABASE_ROLE must be 'runtime' or 'owner', not {DATABASE_ROLE!r}."
    )
_runtime_database = env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'tradingsite.sqlite3'}")
#: The role web and workers run as: the grants after `migrate` and the deploy check use it.
DATABASE_RUNTIME_USER = _runtime_database.get("USER") or ""
_as_owner = DATABASE_ROLE == "owner" and bool(DATABASE_MIGRATION_URL)
if DATABASE_MIGRATION_URL:
    _owner_database = env.db_url_config(DATABASE_MIGRATION_URL)
    if not all("postgresql" in db["ENGINE"] for db in (_owner_database, _runtime_database)):
        raise ImproperlyConfigured(
            "DATABASE_MIGRATION_URL is for PostgreSQL: it and DATABASE_URL must both be "
            "postgres:// URLs."
        )
DATABASES = {"default": _owner_database if _as_owner else _runtime_database}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # A password rotated by ops.rotation replaces the one in DATABASE_URL (for that user).
    DATABASES["default"]["PASSWORD"] = (
        env.str("DATABASE_MIGRATION_PASSWORD" if _as_owner else "DATABASE_PASSWORD", default="")
        or password_for(DATABASES["default"]["USER"], _stored_secrets, "DATABASE")
        or DATABASES["default"]["PASSWORD"]
    )
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
    # A row lock not granted in this time fails the statement (orders.locks retries, then
    # answers account-busy): set once per connection, so it costs no statement.
    DATABASES["default"]["OPTIONS"]["options"] = (
        f"-c lock_timeout={env.int('DATABASE_LOCK_TIMEOUT_MS', default=2000)}"
    )
    # The owner's login for the one runtime path that needs it (compliance.retention's
    # release and restore open a connection of their own with it; docs/compliance-retention.md).
    if DATABASE_MIGRATION_URL:
        DATABASE_OWNER_LOGIN = {
            key: _owner_database.get(key) or "" for key in ("USER", "HOST", "PORT")
        } | {
            "PASSWORD": env.str("DATABASE_MIGRATION_PASSWORD", default="")
            or password_for(_owner_database["USER"], _stored_secrets, "DATABASE")
            or _owner_database.get("PASSWORD")
            or ""
        }
    # The test database's name (default: test_<NAME>), e.g. for two test runs on one server.
    if _test_database := env.str("TEST_DATABASE_NAME", default=""):
        DATABASES["default"]["TEST"] = {"NAME": _test_database}
# A read replica for long reports (tradingsite.db_routers): exports read their rows there
# when REPORTS_DATABASE_URL is set; every write still goes to the primary. The tests use the
# primary in its place (a test mirror), so no second test database is made.
REPORTS_DATABASE_URL = env.str("REPORTS_DATABASE_URL", default="")
if REPORTS_DATABASE_URL:
    DATABASES["reports"] = env.db_url_config(REPORTS_DATABASE_URL)
    DATABASES["reports"]["TEST"] = {"MIRROR": "default"}
    if "postgresql" in DATABASES["reports"]["ENGINE"]:
        DATABASES["reports"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        DATABASES["reports"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["tradingsite.db_routers.ReportsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# A password rotated by ops.rotation replaces the one in REDIS_URL (for that ACL user).
_redis_password = env.str("REDIS_PASSWORD", default="") or password_for(
    url_user(REDIS_URL), _stored_secrets, "REDIS"
)
if REDIS_URL and _redis_password:
    REDIS_URL = url_with_password(REDIS_URL, _redis_password)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ts",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=2.0),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=2.0),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tradingsite",
            "KEY_PREFIX": "ts",
            "OPTIONS": {"MAX_ENTRIES": env.int("LOCAL_CACHE_MAX_ENTRIES", default=10000)},
        }
    }
# Quotes get their own alias with their own TTL. The feed, web and workers are separate
# processes, so on the embedded profile quotes go to files in the data folder (shared by
# every process, bounded in size), not to process memory.
if REDIS_URL:
    CACHES["quotes"] = {**CACHES["default"], "KEY_PREFIX": "ts:q"}
else:
    CACHES["quotes"] = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "quotes"),
        "OPTIONS": {"MAX_ENTRIES": env.int("MARKETDATA_CACHE_MAX_ENTRIES", default=5000)},
    }
CACHES["quotes"]["TIMEOUT"] = env.int("MARKETDATA_QUOTE_TTL", default=60)

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes refuses a locked-out sign-in before any password is checked (ops.lockout).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]


def _positive_int(name: str, default: int) -> int:
    value = env.str(name, default=str(default))
    if not value.isdigit() or int(value) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


def _time_of_day(name: str, default: str) -> datetime.time:
    value = env.str(name, default=default)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ImproperlyConfigured(
            f"{name} must be a 24-hour time of day HH:MM (IST), e.g. 03:00, not {value!r}."
        )
    return datetime.time(int(value[:2]), int(value[3:]))


# Lockout: this many failed sign-ins (password or two-factor code) of one username from one
# address lock that pair for the cool-off; a stranger cannot lock a trader out elsewhere.
AXES_FAILURE_LIMIT = _positive_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=_positive_int("LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ops.netaddr.client_ip"
AXES_LOCKOUT_CALLABLE = "ops.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "csrfmiddlewaretoken"]
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are on the audit trail already
# Two-factor (TOTP) for every staff user (ops.twofactor); keys are never shown in the admin.
OTP_TOTP_ISSUER = "TradingSite"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# SEBI's daily logout: every session ends at this time of day, IST (ops.daily_logout).
SESSION_DAILY_LOGOUT_IST = _time_of_day("SESSION_DAILY_LOGOUT_IST", "03:00")

# --- Time and language ------------------------------------------------------------------
LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

# A restored archive's read-only copy (compliance.retention.restore).
ARCHIVE_RESTORE_ROOT = env.path("ARCHIVE_RESTORE_ROOT", default=DATA_DIR / "archive-restore")

# --- Static files (served by WhiteNoise, so the demo needs no web server in front) -------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # KYC documents: outside the database and outside anything served (compliance.kyc).
    "kyc": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("KYC_DOCUMENTS_ROOT", default=str(DATA_DIR / "kyc"))},
    },
    # Filed STRs, frozen (compliance.cases): outside the database and anything served.
    "compliance": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("COMPLIANCE_FILES_ROOT", default=str(DATA_DIR / "compliance"))
        },
    },
    # Archived months of kept records, Parquet files and manifests (compliance.retention):
    # the filesystem, or with ARCHIVE_S3_BUCKET an S3 bucket under Object Lock.
    "archive": {
        "BACKEND": "compliance.retention.storage.S3ObjectLockStorage",
        "OPTIONS": {
            "bucket": env.str("ARCHIVE_S3_BUCKET"),
            "prefix": env.str("ARCHIVE_S3_PREFIX", default="archive"),
            "endpoint_url": env.str("ARCHIVE_S3_ENDPOINT_URL", default=""),
            "retain_days": env.int("ARCHIVE_S3_RETAIN_DAYS", default=1827),
        },
    }
    if env.str("ARCHIVE_S3_BUCKET", default="")
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("ARCHIVE_ROOT", default=str(DATA_DIR / "archive"))},
    },
    # Production needs `collectstatic` (its deploy check says so); the embedded profile
    # serves plain names from the apps until it has run (tradingsite.staticfiles).
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "tradingsite.staticfiles.EmbeddedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or (
    not PRODUCTION and not (STATIC_ROOT / "staticfiles.json").is_file()
)

# --- Security -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every header and why: ops/security_headers.py and docs/security-headers.md.
_FEATURES_OFF = """accelerometer autoplay browsing-topics camera clipboard-read display-capture
    encrypted-media fullscreen geolocation gyroscope hid idle-detection magnetometer microphone
    midi payment picture-in-picture publickey-credentials-get screen-wake-lock serial usb
    xr-spatial-tracking"""
PERMISSIONS_POLICY = {
    **{feature: [] for feature in _FEATURES_OFF.split()},
    "clipboard-write": ["self"],  # Swagger UI's copy buttons
}
SESSION_COOKIE_HTTPONLY = True
# The browser itself refuses anything not served by this site: no CDN, no inline script.
# Inline *styles* are still allowed because the admin, Swagger UI and Redoc use them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers talk plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- API keys and client addresses (ops.apikeys, ops.signing, ops.netaddr) -------------------
API_KEY_DEFAULT_DAYS = env.int("API_KEY_DEFAULT_DAYS", default=90)
API_KEY_MAX_DAYS = env.int("API_KEY_MAX_DAYS", default=365)
API_KEY_MAX_ACTIVE_PER_ACCOUNT = env.int("API_KEY_MAX_ACTIVE_PER_ACCOUNT", default=5)
API_KEY_ROTATION_OVERLAP_HOURS = env.int("API_KEY_ROTATION_OVERLAP_HOURS", default=24)
#: Seconds a web process keeps a resolved key (ops.signers); changes made through the models
#: apply at once anyway, through change stamps. 0 turns the cache off.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=5)
#: Proxies whose X-Forwarded-For is believed (CIDR ranges); empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
#: Tokens a second (token buckets in Redis, ops.ratelimits). 10 orders a second is SEBI's
#: threshold for an algo not registered with the exchange.
API_RATE_PER_KEY = env.int("API_RATE_PER_KEY", default=20)
API_RATE_PER_ACCOUNT = env.int("API_RATE_PER_ACCOUNT", default=40)
API_RATE_PER_USER = env.int("API_RATE_PER_USER", default=20)
API_ORDER_RATE = env.int("API_ORDER_RATE", default=10)
API_ORDER_RATE_REGISTERED = env.int("API_ORDER_RATE_REGISTERED", default=50)
#: Admin and API allowlist: a file in the deploy configuration plus rows in the admin.
IP_ALLOWLIST_FILE = env.path("IP_ALLOWLIST_FILE", default=BASE_DIR / "deploy" / "allowlist.txt")
IP_ALLOWLIST_ENABLED = env.bool("IP_ALLOWLIST_ENABLED", default=True)

# --- Request ids (X-Request-ID), carried into logs and Celery tasks ------------------------
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": True,
    "INTEGRATIONS": [],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes logs every sign-in at INFO; failures and lockouts (WARNING) are what matter.
    "loggers": {"django_guid": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- REST API -----------------------------------------------------------------------------
API_BASIC_AUTH = env.bool("API_BASIC_AUTH", default=not PRODUCTION)
REST_FRAMEWORK = {
    # Signatures first: the challenge makes an anonymous request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ops.signing.SignedRequestAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
    # HTTP Basic only for curl on the embedded demo; algo clients sign (ops.signing).
    + (["rest_framework.authentication.BasicAuthentication"] if API_BASIC_AUTH else []),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["ops.ratelimits.ApiRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "tradingsite.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tradingsite.errors.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TradingSite API",
    "DESCRIPTION": "Back-office API: orders, risk, market data and compliance for NSE equities.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge that would call the public validator service.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
    # Choice sets that share a field name ("kind", "scope"); name their enums explicitly.
    "ENUM_NAME_OVERRIDES": {
        "LedgerKindEnum": "orders.choices.LedgerKind",
        "LimitKindEnum": "risk.choices.LimitKind",
        "LimitScopeEnum": "risk.choices.Scope",
        "ApiKeyScopeEnum": "ops.models.ApiKey.Scope",
        # Report exports and backtest runs: queued, running, succeeded or failed.
        "JobStatusEnum": "strategies.models.BacktestRun.Status",
        "RunKindEnum": "strategies.models.BacktestRun.Kind",
        "ConvertibleProductEnum": "orders.conversion.CONVERTIBLE",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tradingsite.schema.add_problem_responses",
    ],
}

# --- Market data ----------------------------------------------------------------------------
MARKETDATA_PROVIDER = env.str("MARKETDATA_PROVIDER", default="synthetic")
MARKETDATA_SYNTHETIC_SEED = env.int("MARKETDATA_SYNTHETIC_SEED", default=20260101)
MARKETDATA_ALWAYS_OPEN = env.bool("MARKETDATA_ALWAYS_OPEN", default=False)
MARKETDATA_UPSTREAM_RATE = env.int("MARKETDATA_UPSTREAM_RATE", default=3)  # calls per second
MARKETDATA_PREFETCH_RATE = env.int("MARKETDATA_PREFETCH_RATE", default=100)  # keys per minute
MARKETDATA_ACCESS_SAMPLE_RATE = env.float("MARKETDATA_ACCESS_SAMPLE_RATE", default=0.1)
MARKETDATA_DEMO_HISTORY_SESSIONS = env.int("MARKETDATA_DEMO_HISTORY_SESSIONS", default=5)
#: The demo's day bars go further back (a year of sessions), for daily backtests.
MARKETDATA_DEMO_DAILY_SESSIONS = env.int("MARKETDATA_DEMO_DAILY_SESSIONS", default=250)

# --- Orders and execution ---------------------------------------------------------------------
#: Pre-trade checks called inside order placement with the account locked (the risk pipeline).
ORDERS_PRE_TRADE_CHECKS: list[str] = ["risk.checks.run_all"]
#: Broker adapters by the name an account's ``broker`` holds (``orders.execution.BrokerAdapter``).
ORDERS_BROKER_ADAPTERS: dict[str, str] = {"paper": "orders.paper.PaperExchange"}
#: A cancel or change the broker has not answered after this long is sent again by the relay.
ORDERS_REQUEST_RELAY_SECONDS = env.int("ORDERS_REQUEST_RELAY_SECONDS", default=30)
# --- KYC (compliance.kyc) ---------------------------------------------------------------
#: The KRA adapter (a dotted path): the fake one until a real KRA is contracted.
KYC_KRA_ADAPTER = env.str("KYC_KRA_ADAPTER", default="compliance.kyc.kra.FakeKra")
#: The fake KRA validates an uploaded record after this many lookups.
KYC_FAKE_KRA_STEPS = env.int("KYC_FAKE_KRA_STEPS", default=1)
#: The largest KYC document accepted, in bytes (PDF, JPEG or PNG).
KYC_DOCUMENT_MAX_BYTES = env.int("KYC_DOCUMENT_MAX_BYTES", default=5 * 1024 * 1024)
# --- E-mail (the desk's reminders) ---------------------------------------------------------
#: Set EMAIL_URL (e.g. smtp+tls://user:password@host:587) to send. Without it the embedded
#: (demo) profile writes each mail to a file in <DATA_DIR>/mail, contract notes included;
#: production without it prints them to the console.
if PRODUCTION or env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="compliance@tradingsite.example")

# --- Cases and STRs (compliance.cases) -----------------------------------------------------
#: Days an officer has to close a case, by priority (the SLA timer the queue shows).
COMPLIANCE_CASE_SLA_DAYS = {"low": 30, "medium": 15, "high": 7}
#: The reporting entity and its principal officer, as an STR names them (FIU-IND).
COMPLIANCE_REPORTING_ENTITY = {
    "name": env.str("FIU_ENTITY_NAME", default="TradingSite Securities Pvt Ltd (demo)"),
    "fiu_reid": env.str("FIU_REID", default="BRXXX00000"),
    "category": "Stock broker",
    "sebi_registration": env.str("SEBI_REGISTRATION", default="INZ000000000"),
    "address": env.str("FIU_ENTITY_ADDRESS", default="1 Dalal Street, Fort"),
    "city": env.str("FIU_ENTITY_CITY", default="Mumbai"),
    "state": env.str("FIU_ENTITY_STATE", default="Maharashtra"),
    "pin_code": env.str("FIU_ENTITY_PIN", default="400001"),
}
COMPLIANCE_PRINCIPAL_OFFICER = {
    "name": env.str("PRINCIPAL_OFFICER_NAME", default="Principal Officer (demo)"),
    "designation": env.str("PRINCIPAL_OFFICER_DESIGNATION", default="Principal Officer"),
    "email": env.str("PRINCIPAL_OFFICER_EMAIL", default="principal.officer@example.in"),
    "phone": env.str("PRINCIPAL_OFFICER_PHONE", default="+91 22 0000 0000"),
    "address": env.str("PRINCIPAL_OFFICER_ADDRESS", default="1 Dalal Street, Fort, Mumbai 400001"),
}
# --- Contract notes (compliance.reports) -------------------------------------------------
#: The trading member as its contract notes name it.
#: Scheduled e-mails of one contract note before the dispatch gives up (each failure is
#: kept; an officer may still "Send again" from the admin).
CONTRACT_NOTE_DISPATCH_ATTEMPTS = env.int("CONTRACT_NOTE_DISPATCH_ATTEMPTS", default=5)
if CONTRACT_NOTE_DISPATCH_ATTEMPTS < 1:
    raise ImproperlyConfigured("CONTRACT_NOTE_DISPATCH_ATTEMPTS must be at least 1.")
COMPLIANCE_BROKER = {
    "name": env.str("BROKER_NAME", default="TradingSite Securities Pvt Ltd (demo)"),
    "sebi_registration": env.str("SEBI_REGISTRATION", default="INZ000000000"),
    "trading_member_code": env.str("BROKER_TRADING_MEMBER_CODE", default="90000"),
    "address": env.str("BROKER_ADDRESS", default="1 Dalal Street, Fort, Mumbai 400001"),
    "state": env.str("BROKER_STATE", default="Maharashtra"),
    "gstin": env.str("BROKER_GSTIN", default="27AAACT0000A1Z5"),
    "compliance_officer_name": env.str(
        "COMPLIANCE_OFFICER_NAME", default="Compliance Officer (demo)"
    ),
    "compliance_officer_email": env.str(
        "COMPLIANCE_OFFICER_EMAIL", default="compliance.officer@example.in"
    ),
    "compliance_officer_phone": env.str("COMPLIANCE_OFFICER_PHONE", default="+91 22 0000 0000"),
}
#: The certificate and key (PEM) that sign contract notes; both empty: a self-signed demo
#: certificate made once in the data folder.
CONTRACT_NOTE_CERT_FILE = env.str("CONTRACT_NOTE_CERT_FILE", default="")
CONTRACT_NOTE_KEY_FILE = env.str("CONTRACT_NOTE_KEY_FILE", default="")
#: The longest date range one register or statement export may cover, in days.
REPORT_MAX_DAYS = env.int("REPORT_MAX_DAYS", default=366)
#: The most rows a register or statement may have as a PDF (CSV and XLSX have no cap).
REPORT_PDF_MAX_ROWS = env.int("REPORT_PDF_MAX_ROWS", default=50000)
#: Backtest runs (strategies.services): the longest date range one run may cover, in days,
#: and the most bars it may read.
BACKTEST_MAX_DAYS = env.int("BACKTEST_MAX_DAYS", default=3660)
BACKTEST_MAX_BARS = env.int("BACKTEST_MAX_BARS", default=500_000)
#: Walk-forward runs: the most parameter points one may try in each window, and the
#: processes a worker optimises them in (1 inside a Celery prefork child, which may not fork).
WALKFORWARD_MAX_POINTS = env.int("WALKFORWARD_MAX_POINTS", default=200)
WALKFORWARD_PROCESSES = env.int("WALKFORWARD_PROCESSES", default=1)
#: The code version a backtest run records (e.g. `git describe` at build time); empty: asked
#: of git in BASE_DIR when first needed, else "unknown".
CODE_VERSION = env.str("TRADINGSITE_CODE_VERSION", default="")
PAPER_SLIPPAGE_BPS = Decimal(env.str("PAPER_SLIPPAGE_BPS", default="5"))
PAPER_SEED = env.int("PAPER_SEED", default=7)
PAPER_LATENCY_MS = env.int("PAPER_LATENCY_MS", default=0)

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = (
    env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://localhost/"
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=4.0)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        # kombu's default is 1 s: a worker whose prefetch is full sleeps that long before it
        # looks again, so the queue drained about one task a second (minutes for the demo
        # seed's submissions). A tenth of a second lists a small folder ten times a second.
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
# Report exports and backtests get queues of their own: a year's register or a million-bar
# backtest must not hold up maintenance, nor each other.
CELERY_TASK_QUEUES = [
    Queue("execution"),
    Queue("marketdata"),
    Queue("maintenance"),
    Queue("reports"),
    Queue("backtests"),
]
CELERY_TASK_ROUTES = {
    "orders.tasks.*": {"queue": "execution"},
    "marketdata.tasks.*": {"queue": "marketdata"},
    "compliance.tasks.report_export*": {"queue": "reports"},
    "strategies.tasks.backtest*": {"queue": "backtests"},
    "strategies.deployment_step": {"queue": "execution"},  # it places orders
}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
