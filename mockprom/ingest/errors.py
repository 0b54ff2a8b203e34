"""The one error type of the ingestion paths: a message and the HTTP status to answer."""

from __future__ import annotations


class IngestError(Exception):
    """Refused input. Answered as plain text (as Prometheus and the Pushgateway answer
    write errors), with ``status`` (400 unless said otherwise)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status
