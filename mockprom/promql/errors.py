"""PromQL errors, each carrying the Prometheus API error type it answers with.

``bad_data`` (400): the query cannot be parsed or its parameters are wrong.
``execution`` (422): the query is valid but fails while evaluating (many-to-many
matching, duplicate series, too many points, ...).
``timeout`` / ``canceled`` (503), ``internal`` (500).
"""

from __future__ import annotations


class PromQLError(Exception):
    """Base class; ``error_type`` is the Prometheus API ``errorType``."""

    error_type = "execution"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ParseError(PromQLError):
    """Syntax or type error in the query text (answered 400 bad_data)."""

    error_type = "bad_data"


class EvalError(PromQLError):
    """Error while evaluating a valid query (answered 422 execution)."""

    error_type = "execution"


class QueryTimeout(PromQLError):
    """The query ran past its timeout (answered 503 timeout)."""

    error_type = "timeout"


class QueryCanceled(PromQLError):
    error_type = "canceled"
