"""Structured logs: one JSON object per line, for the request log, errors and uvicorn's own log.

Loggers:
- `peacetalks.request`: one INFO line per request (method, path, status, duration_ms,
  request_id, user_id), written by app.middleware.RequestContextMiddleware;
- `peacetalks.error`: an unhandled exception, with its request id and the traceback.

Only the fields named above are logged: never headers, cookies, bodies or query strings, so
passwords, session ids and CSRF tokens cannot reach the log.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

REQUEST_LOGGER = "peacetalks.request"
ERROR_LOGGER = "peacetalks.error"


class JsonFormatter(logging.Formatter):
    """A record as one JSON line; a record's `fields` (passed as extra) become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A logging.config.dictConfig for `peacetalks serve` (passed to uvicorn as log_config).

    uvicorn's access log is silenced (serve also passes access_log=False): the request log
    replaces it. uvicorn's error log is kept, in the same JSON format.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "peacetalks": {"handlers": ["stdout"], "level": level, "propagate": False},
            ERROR_LOGGER: {"handlers": ["stderr"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
