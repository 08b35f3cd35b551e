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
# Whether a request came over HTTPS is decided here, not by Django (settings.py sets no
# SECURE_PROXY_SSL_HEADER): gunicorn sets wsgi.url_scheme to https only when the peer is
# in forwarded_allow_ips (the local proxy) and sends X-Forwarded-Proto: https. From any
# other address the header is ignored, so a client that reaches gunicorn directly cannot
# skip the HTTPS redirect or be sent HSTS over plain HTTP.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Only the header our nginx overwrites. gunicorn's default also believes X-Forwarded-Ssl
# and X-Forwarded-Protocol, which nginx passes on from the client unchanged.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# gunicorn 25.1+ opens a control socket for `gunicornc`, by default one shared path per
# user ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl), so two instances on
# one host (the app and the benchmark or test stacks, two deployments) take each other's.
# Homeline does not use it: off, unless GUNICORN_CONTROL_SOCKET names a path for this
# instance.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket
