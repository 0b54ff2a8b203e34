"""The running query's deadline, for loops deep inside an evaluation (per series, per
step) that have no evaluator at hand: ``check()`` raises ``QueryTimeout`` once it has
passed. The engine sets it around each evaluation (``running``); outside one, ``check``
does nothing."""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator, Optional

from mockprom.promql.errors import QueryTimeout

_deadline: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar(
    "mockprom_query_deadline", default=None)

MESSAGE = "query timed out in expression evaluation"


def check() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise QueryTimeout(MESSAGE)


@contextmanager
def running(deadline: float) -> Iterator[None]:
    """Make ``deadline`` (a ``time.monotonic()`` value) the one ``check`` tests."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)
