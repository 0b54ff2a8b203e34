"""Go's ``net/http`` wire details that Prometheus clients see: status texts and the bare
answers Go's server writes itself before any handler runs.

    status_line("204 NO CONTENT")  -> "204 No Content"
    raw_error(431)                 -> b"HTTP/1.1 431 Request Header Fields Too Large\\r\\n..."
"""

from __future__ import annotations

# Go's http.StatusText (net/http/status.go).
STATUS_TEXT = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
    204: "No Content", 205: "Reset Content", 206: "Partial Content", 207: "Multi-Status",
    208: "Already Reported", 226: "IM Used",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
    304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
    414: "Request URI Too Long", 415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable", 417: "Expectation Failed", 418: "I'm a teapot",
    421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked",
    424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required",
    428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates", 507: "Insufficient Storage", 508: "Loop Detected",
    510: "Not Extended", 511: "Network Authentication Required",
}

# Go's http.DefaultMaxHeaderBytes plus the 4096 bytes of slack its server allows: a
# request line and headers up to this size are served, larger ones get ``raw_error(431)``.
MAX_HEADER_BYTES = (1 << 20) + 4096

_LINES: dict[str, str] = {}


def status_text(code: int) -> str:
    return STATUS_TEXT.get(code) or f"status code {code}"


def status_line(status: str) -> str:
    """A WSGI status (``"204 NO CONTENT"``) with Go's text (``"204 No Content"``)."""
    line = _LINES.get(status)
    if line is None:
        try:
            code = int(status[:3])
        except ValueError:
            return status
        line = f"{code} {status_text(code)}"
        if len(_LINES) < 1000:
            _LINES[status] = line
    return line


def raw_error(code: int) -> bytes:
    """The whole answer Go's server writes for a request it refuses before routing (too
    large headers, a malformed request): no Date, no Content-Length, then it closes."""
    text = f"{code} {status_text(code)}"
    return (f"HTTP/1.1 {text}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Connection: close\r\n\r\n{text}").encode("latin-1")
