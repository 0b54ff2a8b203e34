"""What a fault rule and the journal see of a request: method, path, endpoint, params,
headers and the PromQL text it carries (read from the query string and a form body)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional
from urllib.parse import parse_qs

from mockprom import limits
from mockprom.faults.endpoints import classify

MAX_FORM_BYTES = limits.MAX_FORM_BYTES
_FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass
class RequestInfo:
    method: str
    path: str
    endpoint: str
    params: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    exprs: list[str] = field(default_factory=list)
    _selectors: Optional[list[tuple[Optional[str], list]]] = None

    @property
    def expr(self) -> Optional[str]:
        """The PromQL text (``query``, else the ``match[]`` selectors joined by ', ')."""
        return ", ".join(self.exprs) if self.exprs else None

    def selects_metric(self, metric: str) -> bool:
        """True when one of the request's expressions selects series named ``metric``."""
        if self._selectors is None:
            self._selectors = [sel for text in self.exprs for sel in selectors_of(text)]
        for name, name_matchers in self._selectors:
            if name == metric:
                return True
            if name is None and name_matchers and all(m.matches(metric) for m in name_matchers):
                return True
        return False


def read_request(environ: dict) -> RequestInfo:
    """Build the request's view; a form body is read and put back for the app."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    params: dict[str, list[str]] = {}
    _merge(params, parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type == _FORM_TYPE:
        body = _buffer_body(environ)
        if body:
            _merge(params, parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    exprs = params.get("query") or params.get("match[]") or []
    return RequestInfo(method, path, classify(path), params, headers, list(exprs))


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for key, values in more.items():
        into.setdefault(key, []).extend(values)


def _buffer_body(environ: dict) -> bytes:
    """Read a form body and replace ``wsgi.input`` with a copy. A body over
    ``MAX_FORM_BYTES`` is dropped unread, for the app as well: Go's ``ParseForm`` refuses
    it and Prometheus then reads only the URL's parameters."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = limits.content_length(environ)
    if length < 0 and not environ.get("wsgi.input_terminated"):
        return b""
    body = b"" if length > MAX_FORM_BYTES else stream.read(
        length if length >= 0 else MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


# --- metric names an expression selects -------------------------------------------------

@lru_cache(maxsize=1024)
def selectors_of(text: str) -> tuple[tuple[Optional[str], list], ...]:
    """(metric name or None, matchers on __name__) for each selector in ``text``.

    Uses the project's PromQL parser when it is available, else a careful scan.
    Cached: dashboards repeat the same expressions.
    """
    return tuple(_selectors_of(text))


def _selectors_of(text: str) -> list[tuple[Optional[str], list]]:
    try:
        from mockprom.promql.parse import parse  # late: the parser may not exist yet
        from mockprom.promql.nodes import VectorSelector
    except ImportError:
        return _scan_selectors(text)
    try:
        tree = parse(text)
    except Exception:  # an unparsable query still gets journaled and matched by regex
        return _scan_selectors(text)
    found: list[tuple[Optional[str], list]] = []
    _walk(tree, VectorSelector, found)
    return found


def _walk(node: object, selector_type: type, found: list) -> None:
    if isinstance(node, selector_type):
        name_matchers = [m for m in node.matchers if m.name == "__name__"]
        name = node.name
        if name is None:
            equal = [m.value for m in name_matchers if m.op == "="]
            name = equal[0] if equal else None
        found.append((name, name_matchers))
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            _walk(item, selector_type, found)
        return
    fields = getattr(node, "__dataclass_fields__", None)
    if fields:
        for name in fields:
            _walk(getattr(node, name), selector_type, found)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_BRACES = re.compile(r"\{[^}]*\}")
_NAME_EQ = re.compile(r'__name__\s*=\s*"((?:[^"\\]|\\.)*)"')
_IDENT = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset",
             "bool", "and", "or", "unless", "inf", "nan", "start", "end", "atan2"}
_DURATION_LIKE = re.compile(r"^\d")


_SCAN_LIMIT = 4096  # the scan's regexes are quadratic at worst: bound the text they see


def _scan_selectors(text: str) -> list[tuple[Optional[str], list]]:
    text = text[:_SCAN_LIMIT]
    names = [(m, []) for m in _NAME_EQ.findall(text)]
    stripped = _BRACES.sub(" ", _GROUPING.sub(" ", _STRING.sub(" ", text)))
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)
    for ident in _IDENT.findall(stripped):
        if ident.lower() not in _KEYWORDS and not _DURATION_LIKE.match(ident):
            names.append((ident, []))
    return names
