"""What counts as a secret: names of parameters, headers and scenario fields that carry
credentials (``auth``, ``pass``, ``token``, ``secret``, ``key``, ``credential``,
``session``, ``signature``, ``cookie``: ``Grafana-Auth``, ``X-Api-Key``, ``pass=``,
``auth.password``, ``server.control_token``). Their values are never journaled, logged
nor echoed in errors."""

from __future__ import annotations

import re
from functools import lru_cache

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(r"auth|pass|token|secret|key|credential|session|signature|cookie",
                          re.I)


@lru_cache(maxsize=1024)  # the same few names arrive with every request
def is_secret(name: str) -> bool:
    """Whether a parameter, header or field name looks like it carries a credential."""
    return bool(_SECRET_NAME.search(name))
