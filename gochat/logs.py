"""Logging through structlog: key-value lines for a console, JSON lines for collectors.

Everything the process writes goes through one pipeline: structlog's own loggers, the standard
library's (uvicorn, alembic, cassandra-driver, nats, asyncio) through a handler on the root
logger, warnings, and exceptions nothing caught. With the JSON format each line is one object;
a traceback is its `exception` field, never lines of its own.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Any

import structlog

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _StructlogHandler(logging.Handler):
    """Formats standard-library records with structlog and writes them through the same
    locked writer as structlog's loggers, so lines from threads never interleave."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._out = structlog.WriteLogger(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._out.msg(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def configure(*, level: str = "info", fmt: str = "console") -> None:
    json_lines = fmt == "json"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    tracebacks: structlog.typing.Processor = (
        structlog.processors.dict_tracebacks if json_lines else structlog.processors.format_exc_info
    )
    numeric_level = getattr(logging, level.upper())
    structlog.configure(
        processors=[*_SHARED, tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            tracebacks,
            renderer,
        ],
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_StructlogHandler(formatter))
    root.setLevel(numeric_level)
    # Libraries that install their own handlers would write lines of their own format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "cassandra", "nats"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    logging.captureWarnings(True)  # noqa: FBT003
    if json_lines:
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    structlog.get_logger("gochat").critical("uncaught_exception", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: Any) -> None:
    if args.exc_type is SystemExit:
        return
    structlog.get_logger("gochat").critical(
        "uncaught_exception",
        thread=getattr(args.thread, "name", None),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
