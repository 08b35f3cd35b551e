"""gunicorn settings for Homeline (Procfile's web process and the benchmark stack).

Command-line flags still win over these (the Procfile passes --bind and --workers).
Behind a TLS proxy, see docs/security.md: the proxy's address goes in
FORWARDED_ALLOW_IPS (gunicorn trusts X-Forwarded-Proto only from there) and the number of
proxies in TRUSTED_PROXY_COUNT (the app's client address, portal/http.py).
"""

import os

# The access log goes to stdout; reset and invitation tokens are redacted from every
# field of it (portal/gunicorn_logging.py).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
logger_class = "portal.gunicorn_logging.RedactingLogger"
# The client address comes from X-Forwarded-For (portal/http.py); %(h)s is the proxy.
access_log_format = os.environ.get(
    "GUNICORN_ACCESS_LOG_FORMAT",
    '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms',
)
# Only the local proxy may claim the request came over HTTPS (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
