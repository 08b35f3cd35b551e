"""gunicorn's logger with reset and invitation secrets redacted (portal/redaction.py).

Used by portal/gunicorn.conf.py (logger_class). Every value an access-log format can show
is redacted: the request line (%(r)s), path (%(U)s), query (%(q)s), Referer (%(f)s) and any
request header or environ variable (%({referer}i)s, %({raw_uri}e)s, ...). The error log
("Error handling request GET /accounts/reset/...") passes through the same filter as
Django's log records.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from portal.redaction import RedactingFilter, redact


class RedactingLogger(Logger):
    """gunicorn.glogging.Logger whose access-log atoms and error-log records are redacted."""

    def setup(self, cfg):
        super().setup(cfg)
        # setup() runs again on every configuration reload: one filter is enough.
        if not any(isinstance(f, RedactingFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }
