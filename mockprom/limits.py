"""How much a request may carry, and decompression that stops at the limit.

Limits no real client reaches, so that no request can exhaust the server:

=========================================  ===========  ==================================
body                                       limit        beyond it
=========================================  ===========  ==================================
form parameters (``/api/v1/*``,            10 MiB       ignored, as Go's ``ParseForm``
``/federate``)                                          ignores them: only the URL's
                                                        parameters count (Prometheus)
remote write, push, remote read (as sent)  32 MiB       413, plain text
the same, decompressed (snappy, gzip)      32 MiB       400 (remote write, Prometheus 3's
                                                        words) or 413 (push)
``PUT /-/mockprom/scenario``               32 MiB       413, JSON (raise it with
                                                        ``serve --max-scenario-size``)
other control bodies (faults, clock)       1 MiB        413, JSON
any request body (the HTTP server)         64 MiB       413, plain text, connection closed
                                                        (more when a larger scenario
                                                        size is allowed)
=========================================  ===========  ==================================
"""

from __future__ import annotations

import zlib

import cramjam

MiB = 1 << 20
MAX_FORM_BYTES = 10 * MiB  # Go's net/http maxFormSize
MAX_WRITE_BYTES = 32 * MiB
MAX_DECODED_BYTES = 32 * MiB  # Prometheus 3's remote write decoded-length limit
MAX_SCENARIO_BYTES = 32 * MiB
MAX_CONTROL_BYTES = 1 * MiB
MAX_REQUEST_BYTES = 64 * MiB


_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 1000 ** 2,
               "mb": 1000 ** 2, "mib": MiB, "g": 1000 ** 3, "gb": 1000 ** 3, "gib": 1 << 30}


def parse_size(text: str) -> int:
    """A size in bytes from ``"33554432"``, ``"64MiB"``, ``"100MB"``, ``"1GiB"``; raises
    ``ValueError`` saying what is accepted."""
    s = str(text).strip().lower().replace(" ", "")
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num):]
    try:
        n = int(float(num) * _SIZE_UNITS[unit]) if num else -1
    except (KeyError, ValueError):
        n = -1
    if n < 1:
        raise ValueError(f"not a size: {text!r} (expected bytes, or a number with KiB, MiB, "
                         f"GiB, KB, MB or GB, e.g. 64MiB)")
    return n


class TooLarge(ValueError):
    """A body (or what it decompresses to) over its limit."""

    def __init__(self, what: str, limit: int):
        super().__init__(f"{what} exceeds the limit of {limit} bytes")
        self.limit = limit


class Corrupt(ValueError):
    """A compressed body that does not decompress; ``str()`` is Go's error text."""


def gunzip(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    """A gzip body (one or more members, as Go's ``gzip.Reader`` reads them) with at most
    ``limit`` bytes of output: ``TooLarge`` past it, ``Corrupt`` with Go's words for a
    bad stream."""
    if not data:
        raise Corrupt("EOF")
    out = bytearray()
    rest = data
    while rest:
        if rest[:2] != b"\x1f\x8b":
            raise Corrupt("gzip: invalid header")
        d = zlib.decompressobj(wbits=31)
        try:
            out += d.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                raise TooLarge("the decompressed body", limit)
            while d.unconsumed_tail and not d.eof:
                out += d.decompress(d.unconsumed_tail, limit + 1 - len(out))
                if len(out) > limit:
                    raise TooLarge("the decompressed body", limit)
        except zlib.error as err:
            text = str(err)
            if "header" in text:
                raise Corrupt("gzip: invalid header") from None
            if "data check" in text or "length check" in text:
                raise Corrupt("gzip: invalid checksum") from None
            raise Corrupt("flate: corrupt input") from None
        if not d.eof:
            raise Corrupt("unexpected EOF")
        rest = d.unused_data
    return bytes(out)


def _uvarint(data: bytes, at: int) -> int:
    n = shift = 0
    for i in range(at, min(at + 10, len(data))):
        b = data[i]
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n
        shift += 7
    raise Corrupt("snappy: corrupt input")


def unsnappy_framed(data: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    """A snappy *stream* (the framing format Go's ``snappy.NewReader`` reads, which the
    Pushgateway accepts with ``Content-Encoding: snappy``), refused before decoding when
    its chunks announce more than ``limit`` bytes."""
    total, at = 0, 0
    while at < len(data):
        if len(data) - at < 4:
            raise Corrupt("snappy: corrupt input")
        kind = data[at]
        size = int.from_bytes(data[at + 1:at + 4], "little")
        body = at + 4
        if body + size > len(data):
            raise Corrupt("unexpected EOF")
        if kind == 0x00:  # compressed: a CRC, then a block announcing its length
            total += _uvarint(data, body + 4)
        elif kind == 0x01:  # uncompressed: a CRC, then the bytes
            total += max(size - 4, 0)
        elif 0x02 <= kind <= 0x7F:
            raise Corrupt("snappy: unsupported input")
        if total > limit:
            raise TooLarge("the decompressed body", limit)
        at = body + size
    try:
        return bytes(cramjam.snappy.decompress(data))
    except Exception:
        raise Corrupt("snappy: corrupt input") from None


def tame_allocator() -> bool:
    """Let the server's worker threads share two malloc arenas (glibc gives each thread
    its own, and each keeps the high-water mark of the bodies it handled: 16 workers
    reading 8 MiB forms held 760 MiB, two arenas about 90 MiB). Call before the workers
    start; a no-op (False) off glibc."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-8, 2))  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def content_length(environ: dict) -> int:
    """The request's declared body length (-1 when none or unreadable)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return -1
