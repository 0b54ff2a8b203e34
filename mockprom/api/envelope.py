"""Prometheus's response envelope and error dialect.

Success: ``{"status":"success","data":...}`` plus ``"warnings"`` / ``"infos"`` when not
empty. Error: ``{"status":"error","errorType":...,"error":...}`` with the HTTP code
Prometheus 2.42 uses for the type (``respondError`` in web/api/v1/api.go): bad_data 400,
execution 422, canceled/timeout 503, internal 500, not_found 404, and — a quirk of
2.42 — ``unavailable`` falls to the default case, 500 (the admin endpoints answer
``500 {"errorType":"unavailable","error":"admin APIs disabled"}``).
"""

from __future__ import annotations

from typing import Iterable, Optional

from flask import Response

from mockprom.api.format import dumps, dumps_text, go_compat

ERROR_STATUS = {
    "bad_data": 400,
    "execution": 422,
    "canceled": 503,
    "timeout": 503,
    "internal": 500,
    "not_found": 404,
    "unavailable": 500,
}

JSON_TYPE = "application/json"


class ApiError(Exception):
    """An error answered in Prometheus's dialect. ``status`` overrides the code the
    error type implies (e.g. 401 for authentication, 503 for an overloaded server)."""

    def __init__(self, error_type: str, message: str, status: Optional[int] = None,
                 headers: Optional[dict] = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status or ERROR_STATUS.get(error_type, 500)
        self.headers = headers or {}


def bad_data(message: str) -> ApiError:
    return ApiError("bad_data", message)


def invalid_param(name: str, message: str) -> ApiError:
    """Go's ``invalidParamError``: ``invalid parameter "name": message``."""
    return ApiError("bad_data", f'invalid parameter "{name}": {message}')


def success_body(data=None, *, data_json: Optional[bytes] = None,
                 warnings: Iterable[str] = (), infos: Iterable[str] = ()) -> bytes:
    """The success envelope as bytes; ``data_json`` is pre-encoded, Go-escaped data
    (query results)."""
    if data_json is None:
        data_json = dumps(data)
    parts = [b'{"status":"success","data":', data_json]
    warnings, infos = list(warnings or ()), list(infos or ())
    if warnings:
        parts += [b',"warnings":', go_compat(dumps_text(warnings))]
    if infos:
        parts += [b',"infos":', go_compat(dumps_text(infos))]
    parts.append(b"}")
    return b"".join(parts)


def error_body(error_type: str, message: str) -> bytes:
    return go_compat(dumps_text({"status": "error", "errorType": error_type,
                                 "error": message}))


def json_response(body: bytes, status: int = 200, headers: Optional[dict] = None) -> Response:
    resp = Response(body, status=status, content_type=JSON_TYPE)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def success(data=None, *, data_json: Optional[bytes] = None, warnings=(), infos=()) -> Response:
    return json_response(success_body(data, data_json=data_json, warnings=warnings, infos=infos))


def error_response(err: ApiError) -> Response:
    return json_response(error_body(err.error_type, err.message), err.status, err.headers)


def no_content() -> Response:
    """What Prometheus answers when a handler returns no data (204, empty body, no
    Content-Type)."""
    resp = Response(status=204)
    del resp.headers["Content-Type"]
    return resp
