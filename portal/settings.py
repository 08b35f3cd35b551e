"""Homeline settings, read from the environment.

Every value that differs between a developer's laptop and production comes from an
environment variable (or a `.env` file beside manage.py). Defaults serve a developer on a
bare machine: SQLite in var/ and a Celery broker on SQLite that needs no server.
`DJANGO_ENV=production` switches on the strict settings and refuses to start without the
values production must set. A bad value stops the process at start with a message naming
the variable (see portal/env.py).
"""

from __future__ import annotations

from pathlib import Path

from portal.env import env, read_database, read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
read_env_file(BASE_DIR / ".env")

DJANGO_ENV = env.choice("DJANGO_ENV", ("development", "production", "test"), "development")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=DJANGO_ENV == "development")
if PRODUCTION and DEBUG:
    env.fail("DJANGO_DEBUG", "must be off when DJANGO_ENV=production")

SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    required=PRODUCTION,
    # Only for development and tests; production refuses to start without its own.
    default="dev-only-insecure-key-9c1f0d2e7b4a4f7e8a6b5c3d2e1f0a9b8c7d6e5f4a3b2c1d",
)
if PRODUCTION and len(SECRET_KEY) < 50:
    env.fail("DJANGO_SECRET_KEY", "must be at least 50 characters in production")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
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
    "crispy_forms",
    "crispy_bootstrap5",
    "django_ratelimit",
    "django_htmx",
    "simple_history",
    "accounts",
    "treatment",
    "symptoms",
    "notifications",
    "alerts",
    "nursing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "accounts.middleware.SecretPathReferrerPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.HtmxSignInRedirectMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, so that it sees the final response of a failed login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "accounts.context_processors.portal",
                "alerts.context_processors.alert_counts",
            ],
        },
    },
]

DATABASES = {"default": read_database(VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out user before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if DJANGO_ENV == "test":
    # Argon2 at full cost makes every factory-made user take ~50 ms; tests check behaviour,
    # not the hash's strength. Production and development keep Argon2 first.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_URL_PATH = "/accounts/login/"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The client's address (portal/http.py client_address), used by lockout, rate limits and
# the read log: the number of reverse proxies we run in front of gunicorn, each appending
# to X-Forwarded-For. 0: none, REMOTE_ADDR is the client and X-Forwarded-For is ignored.
# Production runs behind one TLS proxy (it trusts X-Forwarded-Proto below), so 1 there.
# Setting it higher than the real number lets a client choose its own address; lower
# makes every client look like the proxy (docs/security.md).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if PRODUCTION else 0)
if TRUSTED_PROXY_COUNT < 0:
    env.fail("TRUSTED_PROXY_COUNT", "must be 0 (no proxy) or the number of proxies")

# Lockout (django-axes): five failures lock that username, and five lock that address,
# each for 15 minutes. Counting them separately stops both guessing one account from many
# addresses and many accounts from one address. The username is counted as sign-in finds
# the account (any letter case), the address is the client's own (accounts/lockout.py).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Off: axes would also wipe this address's failures against other accounts. A successful
# sign-in clears only that account's failures from that address (accounts/lockout.py).
AXES_RESET_ON_SUCCESS = False
# A try refused because a lock already stands (on the address or on the account) checks no
# password and is not a new failure against any account. Counting it (axes' default) let a
# locked address keep adding failures to other accounts until they locked too, and the
# owner's right password, refused by the account's lock, counted as a failure of theirs.
# A lock therefore lasts AXES_COOLOFF_TIME from the failure that set it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.axes_client_address"

# Idle timeout: staff see many patients, so their sessions end sooner.
SESSION_IDLE_SECONDS_STAFF = env.int("SESSION_IDLE_MINUTES_STAFF", default=15) * 60
SESSION_IDLE_SECONDS_PATIENT = env.int("SESSION_IDLE_MINUTES_PATIENT", default=30) * 60
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Says nothing was sent, with the call advice; keeps a check-in's answers (symptoms/views.py).
CSRF_FAILURE_VIEW = "symptoms.views.csrf_failure"

INVITATION_TTL_HOURS = env.int("INVITATION_TTL_HOURS", default=72)
QUEUE_REFRESH_SECONDS = env.int("QUEUE_REFRESH_SECONDS", default=10)

# Cache: rate-limit counters (django-ratelimit) must be shared by every web process.
# Redis in production; the embedded default is a table in the SQLite database.
# Nothing clinical is kept in the cache (sessions and the lockout are in the database), so
# a cache that is down or hung must never stop a patient signing in or saving a check-in:
# django-redis answers "no value" when Redis fails (IGNORE_EXCEPTIONS), after short socket
# timeouts and without retrying, and django-ratelimit then lets the request through
# (RATELIMIT_FAIL_OPEN). The cost: while Redis is down the address limits on sign-in,
# password reset and invitations do not count; django-axes' lockout (database) still does.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
if PRODUCTION and not CACHE_URL:
    env.fail("REDIS_URL", "production needs Redis (or CACHE_URL) for shared rate limits")
# A Redis on the local network answers in well under a millisecond; 0.1 s is generous, and
# a slow answer only costs one rate-limit count.
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT_SECONDS", default=0.1)
if CACHE_URL:
    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "homeline",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "IGNORE_EXCEPTIONS": True,
        },
    }}
    # Each ignored failure is logged (django_redis.cache), so an outage is visible.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    SILENCED_SYSTEM_CHECKS: list[str] = []
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "homeline_cache"}}
    # The database cache does not increment atomically: under concurrent requests a
    # counter may under-count by a few. Acceptable for the single-machine embedded default;
    # production sets REDIS_URL or CACHE_URL.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# A counter that cannot be read or written lets the request through (see above).
RATELIMIT_FAIL_OPEN = True
RATELIMIT_VIEW = "accounts.views.rate_limited"
# The same client address as lockout and the read log (accounts/ratelimits.py keys on it too).
RATELIMIT_IP_META_KEY = "portal.http.client_address"
# "count/period" per client address. Check-ins have no limit: a check-in that passes
# validation is always saved (clinical-rules.md), whoever enters it and however often.
RATE_LOGIN = env.str("RATE_LOGIN", default="20/10m")
RATE_PASSWORD_RESET = env.str("RATE_PASSWORD_RESET", default="5/h")
RATE_INVITATION = env.str("RATE_INVITATION", default="10/h")
# Per account: entering a team admin's one-time enrolment code (accounts/enrolment.py).
RATE_ENROLMENT_CODE = env.str("RATE_ENROLMENT_CODE", default="10/h")
OTP_TOTP_ISSUER = "Homeline"
# The admin site never shows an existing authenticator's secret or backup codes: whoever
# read them could act as that nurse, and the read would look like her.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"  # only the default for display; storage is UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Mail. Development writes each message to a file in var/mail (the "local mail output").
_email = env.email("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)
# The alert worker keeps its SMTP connection open between messages at most this long idle.
EMAIL_REUSE_SECONDS = env.float("EMAIL_REUSE_SECONDS", default=30.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Homeline <no-reply@homeline.invalid>")

# Celery. Tasks carry ids only (never health data) and JSON only.
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL",
    default=REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}",
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
# Reuse the worker's database connection across tasks (portal/celery.py closes it by
# Django's rules instead): a new PostgreSQL connection per alert cost ~40 % of its latency.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=10_000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A hung broker must not hang a patient's request: publishing gives up quickly and the
# delivery row waits for the sweeper instead.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Bounds how long a patient's request waits on a hung broker when it publishes
        # (issue 10: sign-in, red check-in and advice within 3 s). Kept above kombu's 1 s
        # BRPOP timeout so a worker's idle poll never times out.
        "socket_timeout": 1.25,
        "socket_connect_timeout": 1.25,
        "max_retries": 1,
        # An unacknowledged task (worker killed mid-delivery) is handed out again after this.
        "visibility_timeout": 600,
    }
else:
    # kombu's SQLAlchemy transport hands these to create_engine(); it polls once a second.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 20}}

# Production hardening (`manage.py check --deploy --fail-level WARNING` passes).
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone who
    # reaches gunicorn. gunicorn sets the scheme (wsgi.url_scheme) from that header only
    # when it comes from FORWARDED_ALLOW_IPS, the proxy (portal/gunicorn.conf.py).
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # no-referrer on reset and invitation pages
X_FRAME_OPTIONS = "DENY"
# Permissions-Policy (django-permissions-policy): the portal uses none of these browser
# features, so no page (nor anything injected into one) may ask for them.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "ambient-light-sensor", "autoplay", "bluetooth", "browsing-topics",
        "camera", "display-capture", "encrypted-media", "fullscreen", "geolocation",
        "gyroscope", "hid", "idle-detection", "interest-cohort", "local-fonts",
        "magnetometer", "microphone", "midi", "payment", "picture-in-picture",
        "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
        "xr-spatial-tracking",
    )
}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Reset and invitation tokens never reach a log (Django logs the path of a 404 or 429).
    "filters": {"redact_secrets": {"()": "portal.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's own handlers for these have no redaction: replace them with ours.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Alerting ---------------------------------------------------------------------------------
# Alerts to the care team and reminders to patients (alerts/, notifications/; docs/operations.md).
# Every delivery is a database row first; Celery only carries its id. These settings tune how
# fast a failure is retried and when the sweeps step in.
# A row that fails for a reason time can cure (server down, 4xx) is retried for
# ALERT_RETRY_FOR_SECONDS (a realistic mail outage: hours), at most ALERT_MAX_ATTEMPTS times;
# then it fails and its fallback is sent. A failed email of a still-open alert is tried again
# every ALERT_RETRY_MAX_SECONDS all the same, so it arrives once the server is back.
ALERT_MAX_ATTEMPTS = env.int("ALERT_MAX_ATTEMPTS", default=100)
ALERT_RETRY_FOR_SECONDS = env.float("ALERT_RETRY_FOR_SECONDS", default=6 * 3600.0)
# A red message's fallback (SMS to the same person, else the queue) goes after this many
# failed attempts, while the message itself keeps trying.
ALERT_RED_FALLBACK_AFTER_ATTEMPTS = env.int("ALERT_RED_FALLBACK_AFTER_ATTEMPTS", default=1)
# Exponential back-off with jitter: attempt n waits base * 2**(n-1), capped, then a random
# half of it is taken off so that many rows failing together do not retry together.
ALERT_RETRY_BASE_SECONDS = env.float("ALERT_RETRY_BASE_SECONDS", default=10.0)
ALERT_RETRY_MAX_SECONDS = env.float("ALERT_RETRY_MAX_SECONDS", default=300.0)
# Only for a row claimed before leases existed (no lease_until): in flight longer than this,
# its worker died and the sweep retries it. Rows claimed since carry a lease (below).
ALERT_STUCK_SECONDS = env.float("ALERT_STUCK_SECONDS", default=120.0)
# The sending worker holds a lease on its row, renewed every ALERT_LEASE_RENEW_SECONDS while
# it is alive; a lease not renewed for ALERT_LEASE_SECONDS means the worker died and the
# delivery sweep (every ALERT_DELIVERY_SWEEP_SECONDS) retries the row. Worst case for a red
# alert whose worker died: lease + sweep interval + one send, well under 30 s.
ALERT_LEASE_SECONDS = env.float("ALERT_LEASE_SECONDS", default=10.0)
ALERT_LEASE_RENEW_SECONDS = env.float("ALERT_LEASE_RENEW_SECONDS", default=3.0)
ALERT_DELIVERY_SWEEP_SECONDS = env.float("ALERT_DELIVERY_SWEEP_SECONDS", default=5.0)
# The longest one send may take: SMTP's steps (connect, EHLO, MAIL, RCPT, DATA, the answer
# to the body) each bounded by EMAIL_TIMEOUT, or one SMS call. The lease is not renewed
# beyond it, and the task's time limits follow from it.
ALERT_SMS_TIMEOUT_SECONDS = env.float("ALERT_SMS_TIMEOUT_SECONDS", default=10.0)
ALERT_SEND_MAX_SECONDS = 6 * max(EMAIL_TIMEOUT, ALERT_SMS_TIMEOUT_SECONDS) + 10
# A pending row younger than this still has its own task on the way; the sweep leaves it.
ALERT_REQUEUE_GRACE_SECONDS = env.float("ALERT_REQUEUE_GRACE_SECONDS", default=20.0)
ALERT_SWEEP_SECONDS = env.float("ALERT_SWEEP_SECONDS", default=30.0)
# After the cut-off without a check-in the patient is reminded; this much later the team
# gets an amber alert.
ALERT_MISSED_CHECK_IN_ALERT_MINUTES = env.int("ALERT_MISSED_CHECK_IN_ALERT_MINUTES", default=120)
# What an alert email or SMS may say. "minimal": severity, initials, hospital number, link.
# "findings": also the words of each finding (only where the team has agreed to it).
ALERT_EMAIL_DETAIL = env.choice("ALERT_EMAIL_DETAIL", ("minimal", "findings"), "minimal")
# Severities that page by SMS as well as email (fallbacks always may use SMS).
ALERT_SMS_SEVERITIES = env.list("ALERT_SMS_SEVERITIES", default=["red"])
# Where a delivery goes when its own channel has failed for good: "sms" or "queue".
ALERT_FALLBACK_CHANNEL = env.choice("ALERT_FALLBACK_CHANNEL", ("sms", "queue"), "sms")
# SMS: a dotted path to a backend class. The default writes each message to a file in
# var/sms/ (the "local SMS output"); a provider is a backend class named here.
ALERT_SMS_BACKEND = env.str("ALERT_SMS_BACKEND", default="notifications.channels.sms.FileBackend")
ALERT_SMS_FILE_PATH = env.str("ALERT_SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
# /healthz answers 503 when the oldest undelivered row, or the last sweep run from beat, is
# older than these.
ALERT_HEALTH_MAX_UNDELIVERED_SECONDS = env.float(
    "ALERT_HEALTH_MAX_UNDELIVERED_SECONDS", default=300.0
)
ALERT_HEALTH_MAX_BEAT_SECONDS = env.float(
    "ALERT_HEALTH_MAX_BEAT_SECONDS", default=3 * ALERT_SWEEP_SECONDS + 30
)
# /healthz answers everyone with its status only; the details (checks, counts, ages) need
# this token, sent as "Authorization: Bearer <token>" (compared in constant time). Empty:
# details are shown to nobody.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
# Publishing a task gets one try, bounded by the broker's socket timeouts above: a patient's
# request must never hang on a hung broker (the sweep sends the row later instead). redis-py
# already reconnects a connection left stale by a Redis restart; a second try at a hung
# Redis would only double the wait. (kombu copies these keys into the transport options.)
ALERT_PUBLISH_RETRY_POLICY = {"max_retries": 0}
# Queues (portal/celery.py declares them; the Procfile gives each its worker): red
# deliveries never wait behind amber ones, reminders or a backlog; sweeps have a queue and a
# worker of their own, so a delivery backlog never delays or expires them.
ALERT_QUEUE_RED = "alerts.red"
ALERT_QUEUE_DELIVERIES = "alerts.deliveries"
ALERT_QUEUE_REMINDERS = "alerts.reminders"
ALERT_QUEUE_SWEEPS = "alerts.sweeps"
CELERY_TASK_DEFAULT_QUEUE = ALERT_QUEUE_DELIVERIES
CELERY_TASK_ROUTES = {
    "alerts.sweep": {"queue": ALERT_QUEUE_SWEEPS},
    "alerts.sweep_deliveries": {"queue": ALERT_QUEUE_SWEEPS},
}
# Every task is bounded: a send cannot outlive ALERT_SEND_MAX_SECONDS plus its recording; a
# sweep gets two minutes. (Enforced by the prefork pool; the soft limit raises in the task.)
CELERY_TASK_SOFT_TIME_LIMIT = ALERT_SEND_MAX_SECONDS + 20
CELERY_TASK_TIME_LIMIT = ALERT_SEND_MAX_SECONDS + 40
CELERY_BEAT_SCHEDULE = {
    "alerts-sweep": {
        "task": "alerts.sweep",
        "schedule": ALERT_SWEEP_SECONDS,
        # Sweeps are idempotent: one that waited a while is still worth running (its own
        # queue keeps it from waiting behind deliveries); only a pile-up is dropped.
        "options": {"expires": 10 * ALERT_SWEEP_SECONDS},
    },
    "alerts-sweep-deliveries": {
        "task": "alerts.sweep_deliveries",
        "schedule": ALERT_DELIVERY_SWEEP_SECONDS,
        "options": {"expires": 10 * ALERT_DELIVERY_SWEEP_SECONDS},
    },
}
if DJANGO_ENV == "test" and CELERY_BROKER_URL.startswith(f"sqla+sqlite:///{VAR_DIR}"):
    # A test that commits a check-in publishes a task; without a broker of its own it must
    # not leave it in the development broker, where `make run`'s worker would find it.
    # Tests that run a real worker give it a real broker (tests/alerts/conftest.py).
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
