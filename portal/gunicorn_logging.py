"""gunicorn's logger with reset and invitation secrets redacted (portal/redaction.py).

Used by portal/gunicorn.conf.py (logger_class). Every value an access-log format can show
is redacted: the request line (%(r)s), path (%(U)s), query (%(q)s), Referer (%(f)s) and any
request header or environ variable (%({referer}i)s, %({raw_uri}e)s, ...). Error-log
messages (a worker's traceback naming a URL) pass through the same function.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from portal.redaction import redact


class RedactingLogger(Logger):
    """gunicorn.glogging.Logger whose access-log atoms and error messages are redacted."""

    def atoms(self, resp, req, environ, request_time):
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }

    def error(self, msg, *args, **kwargs):
        super().error(redact(msg) if isinstance(msg, str) else msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        super().exception(redact(msg) if isinstance(msg, str) else msg, *args, **kwargs)
