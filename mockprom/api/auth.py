"""Authentication as managed Prometheus services do it.

The scenario's ``auth``: ``none``; ``bearer`` (``Authorization: Bearer <token>``); or
``basic`` (user and password; managed services use the account id as user and the token
as password). A refused request gets 401, a JSON error envelope and a
``WWW-Authenticate`` header. Secrets are compared with ``hmac.compare_digest`` and never
logged. ``/-/healthy`` and ``/-/ready`` stay open; the control API under ``/-/mockprom/``
answers to the server's control token (``--control-token``) or the scenario's own
credentials (open when neither is set).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Optional

from mockprom.api.envelope import ApiError

OPEN_PATHS = ("/-/healthy", "/-/ready")
CONTROL_PREFIX = "/-/mockprom/"
REALM = "mockprom"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _bearer(header: str) -> Optional[str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _basic(header: str) -> Optional[tuple[str, str]]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def _refuse(scheme: str, message: str) -> ApiError:
    return ApiError("unauthorized", message, status=401,
                    headers={"WWW-Authenticate": f'{scheme} realm="{REALM}"'})


def check_bearer(header: str, token: str) -> Optional[ApiError]:
    if not header:
        return _refuse("Bearer", "authentication required: missing bearer token")
    got = _bearer(header)
    if got is None or not _same(got, token):
        return _refuse("Bearer", "authentication failed: invalid bearer token")
    return None


def check_basic(header: str, username: str, password: str) -> Optional[ApiError]:
    if not header:
        return _refuse("Basic", "authentication required: missing basic auth credentials")
    creds = _basic(header)
    if creds is None:
        return _refuse("Basic", "authentication failed: invalid basic auth credentials")
    # Evaluate both comparisons, so timing does not tell which one failed.
    user_ok = _same(creds[0], username)
    pass_ok = _same(creds[1], password)
    if not (user_ok and pass_ok):
        return _refuse("Basic", "authentication failed: invalid basic auth credentials")
    return None


def check_control(authorization: str, scenario, control_token: Optional[str]
                  ) -> Optional[ApiError]:
    """The control API's credentials: the server's control token (a bearer token) or the
    scenario's own credentials when it sets auth; open when neither is set."""
    kind = _kind(scenario)
    if not control_token and kind == "none":
        return None
    if control_token:
        got = _bearer(authorization)
        if got is not None and _same(got, control_token):
            return None
    if kind != "none":
        refused = _scenario_auth(authorization, scenario)
        if refused is None or not control_token:
            return refused
    what = "control token" if kind == "none" else "control token or credentials"
    verdict = "missing" if not authorization else "invalid"
    return _refuse("Bearer", f"control API: {verdict} {what}")


def _kind(scenario) -> str:
    auth = getattr(scenario, "auth", None)
    return getattr(auth, "type", "none") if auth is not None else "none"


def check_request(path: str, authorization: str, scenario, control_token: Optional[str]
                  ) -> Optional[ApiError]:
    """The error to answer, or None when the request may proceed."""
    if path in OPEN_PATHS:
        return None
    if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
        return check_control(authorization, scenario, control_token)
    return _scenario_auth(authorization, scenario)


def _scenario_auth(authorization: str, scenario) -> Optional[ApiError]:
    auth = getattr(scenario, "auth", None)
    kind = getattr(auth, "type", "none") if auth is not None else "none"
    if kind == "bearer":
        return check_bearer(authorization, auth.token or "")
    if kind == "basic":
        return check_basic(authorization, auth.username or "", auth.password or "")
    return None
