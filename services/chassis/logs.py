"""Structured JSON logs that carry the nameko call id of the worker that wrote them."""

import json
import logging

from eventlet.corolocal import local
from nameko.extensions import DependencyProvider

_current = local()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "call_id": getattr(_current, "call_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class CallIdLogging(DependencyProvider):
    """Remembers the running worker's call id for the log lines it writes."""

    def worker_setup(self, worker_ctx):
        _current.call_id = worker_ctx.call_id

    def worker_teardown(self, worker_ctx):
        _current.call_id = None
