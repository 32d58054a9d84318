"""Structured logging to stderr: one JSON object per line. Log CRNs and ids only: never names,
dates of birth, addresses or XML.

Every line carries `timestamp`, `level` and `event`; lines logged while a web request is
answered carry its `request_id` (also sent as the `X-Request-Id` response header), and lines
logged by a scheduled job carry `job` and `job_run_id` (bound with `bind_context`).

Both the stdlib handler and the structlog logger look ``sys.stderr`` up when they write, not when
they are configured, so a CLI run inside a test (where stderr is a capture that is later closed)
leaves nothing behind that writes to a dead stream.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog
from structlog.contextvars import bind_contextvars, get_contextvars, reset_contextvars

__all__ = ["bound", "configure_logging"]


@contextmanager
def bound(**values: str) -> Iterator[None]:
    """Every line logged inside carries these keys (a request id, a job run id)."""
    tokens = bind_contextvars(**values)
    try:
        yield
    finally:
        reset_contextvars(**tokens)


class _JsonFormatter(logging.Formatter):
    """Standard-library records (uvicorn, httpx, warnings) as the same JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **get_contextvars(),
        }
        return json.dumps(line, default=str, ensure_ascii=False)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that always writes to whatever ``sys.stderr`` is now."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return None


class _StderrLogger:
    """structlog logger: one rendered line per event to the current ``sys.stderr``."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)  # noqa: T201 - this is the log sink

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(*, verbose: bool = False) -> None:
    level = logging.INFO if verbose else logging.WARNING
    handler = _CurrentStderrHandler()
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(default=str, ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
